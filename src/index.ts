/**
 * memwhy as a library: the engine the CLI is a thin user of. Gather
 * evidence from a running CPython, judge it with pure functions, or take
 * one probe at a time. Every function here leaves the target running and
 * detached, and fails with a UserError whose message is one line.
 */
export { UserError } from './errors.js';
export { describePython, type PythonTarget } from './target/python.js';
export { TargetExitedError } from './target/proc.js';
export { gatherEvidence, type DiagnoseOptions, type Evidence } from './collect/diagnose.js';
export { diagnose } from './analyze/verdict.js';
export type { Cause, CauseFinding, Diagnosis } from './analyze/diagnosis.js';
export { withAgent, openAgent, type OpenedSession } from './attach/agentSession.js';
export type { AttachOptions } from './attach/session.js';
export { collectCensus, type Census, type CensusOptions, type TypeCount } from './collect/census.js';
export { sampleMemory, watchMemory, type MemorySample, type WatchOptions } from './collect/rss.js';
export { LiveStacks } from './collect/liveStacks.js';
export { collectCoreStacks } from './collect/coreStacks.js';
export { sampleStacks } from './collect/sampleStacks.js';
export type { StackFrame, StackSample, StacksEvidence, ThreadStack } from './collect/stackTypes.js';
