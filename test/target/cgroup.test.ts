import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCgroup, readCgroup, readCgroupMemory } from '../../src/target/cgroup.js';

const ID = 'a'.repeat(16) + '0123456789abcdef'.repeat(3);

test('cgroup v2 under systemd kubelet names the pod uid and the container', () => {
  const place = parseCgroup(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_4a1b_9c2d_3e4f5a6b7c8d.slice/cri-containerd-${ID}.scope\n`);
  assert.equal(place.version, 2);
  assert.equal(place.podUid, '1b2c3d4e-5f60-4a1b-9c2d-3e4f5a6b7c8d');
  assert.equal(place.containerId, ID);
});

test('cgroup v1 under cgroupfs kubelet names the pod uid from the memory controller', () => {
  const place = parseCgroup(
    ['12:pids:/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/' + ID, '4:memory:/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/' + ID, '0::/', ''].join('\n'),
  );
  assert.equal(place.version, 1);
  assert.equal(place.path, '/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/' + ID);
  assert.equal(place.podUid, '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
  assert.equal(place.containerId, ID);
});

test('a docker container outside Kubernetes has a container id and no pod', () => {
  const place = parseCgroup(`0::/system.slice/docker-${ID}.scope\n`);
  assert.equal(place.containerId, ID);
  assert.equal(place.podUid, undefined);
});

test('a process in a user session has neither', () => {
  const place = parseCgroup('0::/user.slice/user-1000.slice/session-2.scope\n');
  assert.deepEqual(place, { path: '/user.slice/user-1000.slice/session-2.scope', version: 2 });
});

test("this process's own cgroup and its memory usage are read from the real /proc and /sys", () => {
  const place = readCgroup(process.pid);
  assert.deepEqual(place, parseCgroup(readFileSync('/proc/self/cgroup', 'utf8')));
  const memory = readCgroupMemory(place);
  // Where the cgroup files are reachable, usage includes this test process's own RSS.
  if (memory) assert.ok(memory.current >= process.memoryUsage.rss() / 2, `usage ${memory.current}`);
});
