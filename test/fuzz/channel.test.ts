/**
 * The channel's parsers and its two ends under hostile bytes: the hello a
 * connecting peer sends, and the reply lines of an agent. Nothing a peer
 * sends may throw inside a socket handler (that would end memwhy), make a
 * wrong hello count, or grow memwhy's buffers without bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ChannelListener, MAX_HELLO_BYTES, newToken, parseHello, parseReply } from '../../src/attach/channel.js';
import { AgentCallError } from '../../src/attach/session.js';
import { seeded } from '../helpers/seeded.js';
import { fuzz, int, mutate, pick, randomBytes } from '../helpers/fuzz.js';
import { tempDir } from '../helpers/tempDir.js';

const TOKEN = newToken();
const GOOD_HELLO = Buffer.from(JSON.stringify({ hello: TOKEN, pid: 42, python: '3.11.2' }));
const REPLIES = [
  '{"id": 1, "result": {"total": {"count": 3, "bytes": 120}}}',
  '{"id": 2, "error": {"type": "ValueError", "message": "bad", "traceback": "Traceback..."}}',
  '{"id": 3, "result": null}',
].map((s) => Buffer.from(s));
/** Lines that parse as JSON but not as what memwhy expects. */
const ODD_JSON = ['null', '[]', '0', '"x"', 'true', '{}', '{"id": "1"}', '{"id": 1, "error": 5}', '{"id": 1, "error": []}', '{"hello": null}', '{"hello": 1e999}'];

test('the hello and reply parsers return a value or nothing for any bytes, and a hello counts only with the token', () => {
  const rand = seeded(7);
  const cases: Buffer[] = [...ODD_JSON.map((s) => Buffer.from(s))];
  for (let i = 0; i < 3000; i++) {
    const r = rand();
    cases.push(r < 0.4 ? mutate(rand, GOOD_HELLO).bytes : r < 0.8 ? mutate(rand, pick(rand, REPLIES)).bytes : randomBytes(rand, 300));
  }
  let hellos = 0;
  const tally = fuzz(
    'channel parsers',
    cases,
    (line) => {
      const hello = parseHello(line, TOKEN);
      if (hello) {
        hellos++;
        assert.ok(line.includes(Buffer.from(TOKEN)), 'a hello counts only with the token');
      }
      const reply = parseReply(line);
      if (reply) assert.equal(typeof reply.id, 'number');
    },
    () => false,
  );
  assert.equal(tally.rejected, 0);
  assert.equal(parseHello(GOOD_HELLO, TOKEN)?.pid, 42);
  assert.equal(parseHello(GOOD_HELLO, newToken()), undefined);
  console.log(`channel parsers: ${hellos} mutated hellos still carried the token and counted`);
});

function send(path: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('connect', () => s.write(bytes));
    setTimeout(() => s.destroy(), 500);
  });
}

test('a listener drops hostile hellos and still takes the agent that comes after them', async () => {
  const dir = tempDir('memwhy-fuzz-channel-');
  try {
    const listener = new ChannelListener(join(dir, 's'), TOKEN);
    await listener.listen(process.getuid!(), process.getgid!());
    const rand = seeded(11);
    const hostile: Buffer[] = [
      ...ODD_JSON.map((s) => Buffer.from(s + '\n')),
      Buffer.alloc(MAX_HELLO_BYTES + 10, 0x41), // no line end
      Buffer.from(JSON.stringify({ hello: newToken(), pid: 1, python: 'x' }) + '\n'),
      ...Array.from({ length: 40 }, () => Buffer.concat([mutate(rand, GOOD_HELLO).bytes, Buffer.from('\n')])).filter((b) => parseHello(b.subarray(0, b.indexOf(10)), TOKEN) === undefined),
    ];
    await Promise.all(hostile.map((b) => send(join(dir, 's'), b)));
    // None of them was taken for the agent: the one accepted is the real one, after them.
    const accepting = listener.accept(5_000);
    const agent = connect(join(dir, 's'));
    agent.on('connect', () => agent.write(Buffer.concat([GOOD_HELLO, Buffer.from('\n')])));
    const channel = await accepting;
    assert.equal(channel.hello.pid, 42);
    channel.destroy();
    agent.destroy();
    console.log(`channel listener: ${hostile.length} hostile hellos dropped, then the agent taken`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a channel ignores reply lines it cannot use, answers the requests it can, and fails on an endless line', async () => {
  const dir = tempDir('memwhy-fuzz-channel-');
  try {
    const listener = new ChannelListener(join(dir, 's'), TOKEN);
    await listener.listen(process.getuid!(), process.getgid!());
    const agent: Socket = connect(join(dir, 's'));
    agent.on('error', () => undefined); // memwhy's end resets it at the end
    await new Promise((r) => agent.on('connect', r));
    agent.write(Buffer.concat([GOOD_HELLO, Buffer.from('\n')]));
    const channel = await listener.accept(5_000);
    const rand = seeded(13);
    const one = channel.request('census.run', {}, 5_000);
    const two = channel.request('census.run', {}, 5_000);
    const garbage: Buffer[] = [];
    // (Only lines that answer no request: '{"id": 1, "error": 5}' would rightly answer request 1.)
    const unusable = ODD_JSON.filter((s) => parseReply(Buffer.from(s)) === undefined);
    for (let i = 0; i < 500; i++) garbage.push(rand() < 0.5 ? Buffer.from(randomBytes(rand, 200).filter((b) => b !== 10)) : Buffer.from(pick(rand, unusable)));
    // Garbage, then a real answer to 1, more garbage, an odd error for 2, split across writes.
    const stream = Buffer.concat([
      ...garbage.slice(0, 250).flatMap((g) => [g, Buffer.from('\n')]),
      Buffer.from('{"id": 1, "result": {"ok": true}}\n'),
      ...garbage.slice(250).flatMap((g) => [g, Buffer.from('\n')]),
      Buffer.from('{"id": 2, "error": {"type": 7, "message": null}}\n'),
    ]);
    for (let at = 0; at < stream.length;) {
      const n = 1 + int(rand, 4096);
      agent.write(stream.subarray(at, at + n));
      at += n;
    }
    assert.deepEqual(await one, { ok: true });
    await assert.rejects(two, (e: unknown) => e instanceof AgentCallError && /^7: null$/.test(e.message));
    // A line that never ends fails the channel instead of growing memwhy's memory.
    const threeFails = assert.rejects(channel.request('census.run', {}, 60_000), /without a line end/);
    const chunk = Buffer.alloc(1 << 24, 0x41);
    for (let i = 0; i < 20 && !channel.closed; i++) {
      await new Promise<void>((r) => agent.write(chunk, () => r()));
    }
    await threeFails;
    agent.destroy();
    channel.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
