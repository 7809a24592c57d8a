/**
 * A process's control group from /proc/PID/cgroup: the path, the container
 * and Kubernetes pod it names when it does, and the memory limit the OOM
 * killer applies to it (cgroup v2 memory.max, v1 memory.limit_in_bytes).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readProcFile } from './proc.js';

export interface CgroupPlace {
  /** The cgroup v2 path ("0::" line), else the v1 memory controller's; "/" when none is named. */
  path: string;
  /** Which hierarchy `path` is from: the memory limit is read from that one. */
  version: 1 | 2;
  /** A 64-hex container id in the path (docker, containerd, CRI-O), when there is one. */
  containerId?: string;
  /** The Kubernetes pod uid in the path (kubepods...pod<uid>), with dashes, when there is one. */
  podUid?: string;
}

/**
 * Parses /proc/PID/cgroup ("hierarchy-id:controllers:path" a line). Pure, so
 * the systemd and cgroupfs spellings of kubelet paths are testable without
 * a cluster: "/kubepods.slice/kubepods-burstable.slice/
 * kubepods-burstable-pod1b2c_.._9f.slice/cri-containerd-<id>.scope" and
 * "/kubepods/burstable/pod1b2c-..-9f/<id>".
 */
export function parseCgroup(text: string): CgroupPlace {
  let v2: string | undefined;
  let memory: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3];
    else if (m[2]!.split(',').includes('memory')) memory = m[3];
  }
  // On a hybrid host the v2 line exists but says "/" while v1 controllers hold the real place.
  const useV1 = memory !== undefined && (v2 === undefined || v2 === '/');
  const path = (useV1 ? memory : v2) ?? '/';
  const place: CgroupPlace = { path, version: useV1 ? 1 : 2 };
  const container = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$/.exec(path);
  if (container) place.containerId = container[1];
  const pod = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/.exec(path);
  if (pod) place.podUid = pod[1]!.replace(/_/g, '-');
  return place;
}

export function readCgroup(pid: number): CgroupPlace {
  return parseCgroup(readProcFile(pid, 'cgroup'));
}

/** The limit and usage of a cgroup's memory, in bytes; limit undefined when there is none. */
export interface CgroupMemory {
  limit?: number;
  current: number;
}

/** v1 reports "no limit" as a page-rounded LONG_MAX; anything this large is no limit. */
const NO_LIMIT = 2 ** 62;

/**
 * Reads the cgroup's memory files under /sys/fs/cgroup; undefined when they
 * are not reachable from here. Inside a cgroup namespace (memwhy in a
 * container) the mount's root is memwhy's own cgroup, so a path equal to
 * memwhy's own is read at the mount's root.
 */
export function readCgroupMemory(place: CgroupPlace, ownPath: string | undefined = ownCgroupPath(place.version)): CgroupMemory | undefined {
  const mount = place.version === 2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
  const limitFile = place.version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
  const currentFile = place.version === 2 ? 'memory.current' : 'memory.usage_in_bytes';
  for (const dir of [mount + (place.path === '/' ? '' : place.path), ...(ownPath === place.path ? [mount] : [])]) {
    if (!existsSync(`${dir}/${currentFile}`)) continue;
    try {
      const limitText = existsSync(`${dir}/${limitFile}`) ? readFileSync(`${dir}/${limitFile}`, 'utf8').trim() : 'max';
      const current = Number(readFileSync(`${dir}/${currentFile}`, 'utf8').trim());
      const limit = limitText === 'max' ? undefined : Number(limitText);
      return { current, ...(limit !== undefined && Number.isFinite(limit) && limit < NO_LIMIT ? { limit } : {}) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

let own: CgroupPlace | null | undefined;

/** memwhy's own cgroup, read once: `watch` asks for every process at every sample. */
function ownCgroupPath(version: 1 | 2): string | undefined {
  if (own === undefined) {
    try {
      own = parseCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
    } catch {
      own = null;
    }
  }
  return own && own.version === version ? own.path : undefined;
}
