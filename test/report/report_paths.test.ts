// The report's path shortening (src/report/html/paths.ts). Named report_* rather
// than mirroring the source path because test/report/html/ belongs to no one yet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullText, isShortened, shortenPath, shortenPathsIn, shownText, splitPaths, type PathPart } from '../../src/report/html/paths.js';

/** Every split must give back the whole text: that is what a copy of the cell gives. */
function shown(path: string, cut: (s: string) => PathPart[] = shortenPath): string {
  const parts = cut(path);
  assert.equal(fullText(parts), path, 'the parts join back to the whole text');
  return shownText(parts);
}

test('a site-packages path is shown from the package down', () => {
  assert.equal(shown('/home/deploy/releases/2026-12-01/app/venv/lib/python3.11/site-packages/sqlalchemy/orm/session.py:2561'), 'sqlalchemy/orm/session.py:2561');
  assert.equal(shown('/usr/lib/python3/dist-packages/werkzeug/routing/matcher.py:77'), 'werkzeug/routing/matcher.py:77');
  assert.equal(shown('/usr/local/lib/python3.12/site-packages/six.py:12'), 'six.py:12');
});

test('a package path is cut after the innermost site-packages', () => {
  // A venv kept inside another venv's site-packages (pex, zipapps unpacked, vendored trees).
  assert.equal(shown('/opt/tool/lib/python3.11/site-packages/bundle/site-packages/urllib3/poolmanager.py:40'), 'urllib3/poolmanager.py:40');
});

test('a standard library path is shown from the lib directory down', () => {
  assert.equal(shown('/usr/lib/python3.12/asyncio/tasks.py:12'), 'asyncio/tasks.py:12');
  assert.equal(shown('/root/.pyenv/versions/3.11.9/lib/python3.11/json/decoder.py:353'), 'json/decoder.py:353');
  assert.equal(shown('/usr/lib64/python3.9/threading.py:980'), 'threading.py:980');
  assert.equal(shown('/usr/local/lib/python3.13t/concurrent/futures/thread.py:59'), 'concurrent/futures/thread.py:59');
  assert.equal(shown('/usr/lib/python2.7/json/decoder.py:380'), 'json/decoder.py:380');
  assert.equal(shown('/usr/lib/python3.12/lib-dynload/_json.cpython-312-x86_64-linux-gnu.so'), 'lib-dynload/_json.cpython-312-x86_64-linux-gnu.so');
});

test('a package or stdlib path says nothing was cut with no ellipsis, since its prefix is implied', () => {
  const parts = shortenPath('/usr/lib/python3/dist-packages/werkzeug/routing/matcher.py:77');
  assert.deepEqual(
    parts.map((p) => [p.elided, p.marker]),
    [
      [true, ''],
      [false, ''],
    ],
  );
});

test('a deep checkout path keeps its last three components after an ellipsis', () => {
  assert.equal(shown('/home/deploy/releases/2026-12-01/app/models/session.py:41'), '…/app/models/session.py:41');
  assert.equal(shown('/srv/checkouts/monorepo/services/billing/src/billing/invoices/render.py:88'), '…/billing/invoices/render.py:88');
});

test('a deep path with long last components keeps two', () => {
  assert.equal(shown('/srv/build/workspace/services/notification_dispatcher_service/handlers/outbound_webhook_delivery.py:310'), '…/handlers/outbound_webhook_delivery.py:310');
});

test('short paths, relative paths and non-paths are shown whole', () => {
  for (const s of [
    'app/session.py:41',
    '/srv/app/worker.py:9',
    'app/models/orm/session.py:41',
    '<frozen importlib._bootstrap>:241',
    '<string>:1',
    '',
    'sqlalchemy.orm.state.InstanceState',
  ]) {
    assert.equal(shown(s), s);
    assert.equal(isShortened(shortenPath(s)), false, s);
  }
});

test('a file name longer than the limit is never cut', () => {
  const s = '/a/b/c/d/an_extremely_long_generated_module_name_for_protobuf_pb2.py:1';
  assert.equal(shown(s), '…/d/an_extremely_long_generated_module_name_for_protobuf_pb2.py:1');
  assert.ok(shown(s).endsWith('an_extremely_long_generated_module_name_for_protobuf_pb2.py:1'));
});

test('paths inside a label are shortened and the words around them kept', () => {
  assert.equal(shown('frame handle_request (/home/deploy/releases/2026-12-01/app/web/handlers.py:61)', shortenPathsIn), 'frame handle_request (…/app/web/handlers.py:61)');
  assert.equal(
    shown('function <lambda> at /usr/lib/python3/dist-packages/werkzeug/serving.py:330 and /usr/lib/python3.12/socketserver.py:12', shortenPathsIn),
    'function <lambda> at werkzeug/serving.py:330 and socketserver.py:12',
  );
  assert.equal(shown("dict _SESSIONS['9f1c02e4a7b3']", shortenPathsIn), "dict _SESSIONS['9f1c02e4a7b3']");
  assert.equal(shown('mapped /usr/lib/x86_64-linux-gnu/libcrypto.so.3', shortenPathsIn), 'mapped /usr/lib/x86_64-linux-gnu/libcrypto.so.3');
  assert.equal(shown('a/b c/d e', shortenPathsIn), 'a/b c/d e');
});

test('a text is split into its paths and the words between them', () => {
  assert.deepEqual(splitPaths('frame run (/usr/lib/python3.12/asyncio/base_events.py:607) via /srv/x.py'), [
    { text: 'frame run (', isPath: false },
    { text: '/usr/lib/python3.12/asyncio/base_events.py:607', isPath: true },
    { text: ') via ', isPath: false },
    { text: '/srv/x.py', isPath: true },
  ]);
  assert.deepEqual(splitPaths('/a/b'), [{ text: '/a/b', isPath: true }]);
  assert.deepEqual(splitPaths('no path: a/b, 1/2'), [{ text: 'no path: a/b, 1/2', isPath: false }]);
  assert.deepEqual(splitPaths(''), [{ text: '', isPath: false }]);
});
