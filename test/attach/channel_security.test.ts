/**
 * The channel no one else can use: memwhy's private directory, socket and
 * lock are closed to other users, the listener closes once the agent is in,
 * the agent serves only a listener the kernel says memwhy made
 * (SO_PEERCRED), and nothing world-writable is left behind.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { interpreters } from '../helpers/pythons.js';
import { startTarget } from '../helpers/target.js';
import { ROOT } from '../helpers/cli.js';
import { agentDirs, lockFiles, threadCount, tracerPid } from '../helpers/procfs.js';
import { waitFor } from '../helpers/expect.js';
import { agentCode, loadAgentSources, renderBootstrap } from '../../src/attach/agentCode.js';
import { newToken } from '../../src/attach/channel.js';
import { tempDir } from '../helpers/tempDir.js';

const all = interpreters();
const debian = all.find((p) => p.label.startsWith('debian')) ?? all[all.length - 1]!;
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const DAEMON = 1;

/** Tries to connect to a Unix socket as `uid`; resolves with Python's verdict: "connected" or the errno name. */
function connectAs(uid: number, path: string): string {
  const r = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import socket,sys,errno\ns=socket.socket(socket.AF_UNIX)\ntry:\n  s.connect(sys.argv[1]); print("connected")\nexcept OSError as e:\n  print(errno.errorcode[e.errno])', path],
    { uid, gid: uid, encoding: 'utf8', timeout: 10_000 },
  );
  return r.stdout.trim() || r.stderr.trim();
}

function mode(path: string): number {
  return lstatSync(path).mode & 0o777;
}

describe('the channel while a session is open', { skip: !isRoot && 'needs root to run the target and a client as other users' }, () => {
  test('a target running as nobody: its private directory is 0700 and its own, the socket and lock 0600, other users are refused', async () => {
    const target = await startTarget(debian.path, ['idle_as_nobody.py']);
    const threads = threadCount(target.pid);
    const memwhy = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'exec', String(target.pid), '-c', 'import time; time.sleep(3)'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    memwhy.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<number | null>((r) => memwhy.on('close', r));
    try {
      const mine = (): string[] => readdirSync('/tmp').filter((n) => n.startsWith(`memwhy-${memwhy.pid}.`));
      // The socket lives only until the agent connects (the listener then
      // closes, which removes it): look at it while memwhy waits for the
      // agent, and keep the last owner and mode seen. Looking once after the
      // agent is in found it already gone on a machine where the agent
      // connected sooner.
      let socket: { mode: number; uid: number } | undefined;
      await waitFor(
        () => {
          const dirs = mine();
          if (dirs.length === 1) {
            try {
              const st = lstatSync(`/tmp/${dirs[0]}/s`);
              socket = { mode: st.mode & 0o777, uid: st.uid };
            } catch {
              // not made yet, or already removed
            }
          }
          // The agent is in: its thread runs in the target and gdb has let go.
          return dirs.length === 1 && threadCount(target.pid) > threads && tracerPid(target.pid) === 0;
        },
        30_000,
        'agent in',
        5,
      );
      const dir = `/tmp/${mine()[0]}`;
      assert.equal(mode(dir), 0o700, 'directory 0700');
      assert.equal(statSync(dir).uid, NOBODY, "directory owned by the target's user");
      assert.deepEqual(socket, { mode: 0o600, uid: NOBODY }, "socket 0600 and the target user's, while it existed");
      assert.equal(mode(`/tmp/.memwhy-${target.pid}.lock`), 0o600, 'lock 0600');
      // Another user cannot even reach the socket.
      assert.equal(connectAs(DAEMON, `${dir}/s`), 'EACCES');
      // The agent is in: its thread runs in the target and no debugger holds it.
      await waitFor(() => threadCount(target.pid) > threads && tracerPid(target.pid) === 0, 30_000, 'agent in');
      // Root can reach it, but the listener closed once memwhy's agent was in.
      assert.match(connectAs(0, `${dir}/s`), /^(ECONNREFUSED|ENOENT)$/);
      assert.equal(await done, 0, stderr);
      assert.ok(target.alive(), 'target still alive');
      assert.equal(tracerPid(target.pid), 0, 'target not traced');
      assert.deepEqual(mine(), [], 'directory removed');
      assert.deepEqual(lockFiles(target.pid), [], 'lock removed');
    } finally {
      memwhy.kill('SIGKILL');
      await target.kill();
    }
  });

  test("a session leaves nothing world-writable in the target's /tmp", async () => {
    const target = await startTarget(debian.path, ['idle_sleeper.py'], { privateTmp: true });
    try {
      const tmp = `/proc/${target.pid}/root/tmp`;
      const before = new Set(readdirSync(tmp));
      const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'exec', String(target.pid), '-c', 'print(1)'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.stdout, '1\n', r.stderr);
      const added = readdirSync(tmp).filter((n) => !before.has(n));
      assert.deepEqual(added, [], 'nothing added');
      const worldWritable = readdirSync(tmp).filter((n) => (mode(`${tmp}/${n}`) & 0o002) !== 0 && !lstatSync(`${tmp}/${n}`).isSymbolicLink());
      assert.deepEqual(worldWritable, []);
      assert.deepEqual(agentDirs(target.pid), []);
    } finally {
      await target.kill();
    }
  });
});

describe("the agent serves only memwhy's own listener", () => {
  for (const py of all) {
    test(`${py.label}: it checks the listener's pid and uid with SO_PEERCRED before sending the token or serving anything`, async () => {
      const dir = tempDir('memwhy-bootcheck-');
      try {
        const socketPath = join(dir, 's');
        const marker = join(dir, 'ran');
        const token = newToken();
        const hellos: string[] = [];
        const server = createServer((sock: Socket) => {
          let buf = '';
          sock.on('data', (d: Buffer) => {
            buf += d.toString();
            if (!buf.includes('\n')) return;
            hellos.push(buf.split('\n')[0]!);
            sock.end();
          });
        });
        await new Promise<void>((r) => server.listen(socketPath, r));
        const sources = loadAgentSources();
        // In place of memwhy's agent: a request loop that only leaves a mark.
        const agent =
          'class _Modules(object):\n    def __init__(self, code):\n        pass\n\n    def clear(self):\n        pass\n\n\n' +
          `def serve(sock, buf, modules):\n    open(${JSON.stringify(marker)}, 'w').write('ran')\n`;
        writeFileSync(join(dir, 't'), sources.start);
        writeFileSync(join(dir, 'c'), agentCode(agent, {}));
        const euid = process.geteuid!();
        const run = async (pids: number[], uid: number): Promise<boolean> => {
          rmSync(marker, { force: true });
          const code = renderBootstrap(sources.boot, { socketPath, token, pids, uid, startPath: join(dir, 't'), codePath: join(dir, 'c'), startCompiled: false });
          // The bootstrap only starts a thread: give it a moment before the interpreter exits.
          // (Asynchronously: this process serves the socket meanwhile.)
          const child = spawn(py.path, ['-c', `${code}\nimport time\ntime.sleep(1.5)\n`], { stdio: 'ignore' });
          await new Promise((r) => child.on('close', r));
          return existsSync(marker);
        };
        assert.equal(await run([process.pid + 1], euid), false, 'a listener made by another pid is refused');
        assert.equal(await run([process.pid], euid + 1), false, 'a listener made by another uid is refused');
        assert.equal(hellos.length, 0, 'the token was never sent to them');
        assert.equal(await run([process.pid], euid), true, "memwhy's own listener is served");
        assert.equal(hellos.length, 1);
        assert.equal((JSON.parse(hellos[0]!) as { hello: string }).hello, token);
        server.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
