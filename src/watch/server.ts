/**
 * The listener of `memwhy watch`: /metrics for Prometheus and the kept
 * diagnosis reports, read-only. Only GET and HEAD are answered and no path
 * leads to anything but a file already on disk: nothing a request says can
 * make memwhy attach to a process or run code in one.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EXPOSITION_CONTENT_TYPE } from '../report/exposition.js';

export interface ListenerContent {
  /** The exposition text, made at each scrape from the latest sample. */
  metrics(): string;
  /** --out: the directory of kept reports, one sub-directory each. */
  reportsDir?: string;
}

/** Names memwhy gives report directories and files: no dots at the start, no slashes. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json',
  gz: 'application/gzip',
};

export function createListener(content: ListenerContent): Server {
  return createServer((req, res) => {
    try {
      handle(content, req, res);
    } catch (err) {
      send(res, 500, 'text/plain; charset=utf-8', `internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
}

function handle(content: ListenerContent, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'memwhy watch is read-only: GET /metrics or /reports/\n', req);
    return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/metrics') {
    send(res, 200, EXPOSITION_CONTENT_TYPE, content.metrics(), req);
    return;
  }
  if (path === '/') {
    send(res, 200, 'text/html; charset=utf-8', '<!doctype html><title>memwhy watch</title><p><a href="/metrics">/metrics</a> <a href="/reports/">/reports/</a>\n', req);
    return;
  }
  if (path === '/reports/' || path === '/reports') {
    const names = listReports(content.reportsDir);
    const items = names
      .map((n) => `<li><a href="/reports/${n}/report.html">${n}</a> (<a href="/reports/${n}/evidence.json">evidence</a>, <a href="/reports/${n}/profile.pb.gz">pprof</a>)`)
      .join('\n');
    send(res, 200, 'text/html; charset=utf-8', `<!doctype html><title>memwhy reports</title><ul>\n${items}\n</ul>\n`, req);
    return;
  }
  const m = /^\/reports\/([^/]+)\/([^/]+)$/.exec(path);
  if (m && content.reportsDir && SAFE_NAME.test(m[1]!) && SAFE_NAME.test(m[2]!)) {
    const file = join(content.reportsDir, m[1]!, m[2]!);
    if (isFile(file)) {
      const ext = m[2]!.slice(m[2]!.lastIndexOf('.') + 1);
      send(res, 200, TYPES[ext] ?? 'application/octet-stream', readFileSync(file), req);
      return;
    }
  }
  send(res, 404, 'text/plain; charset=utf-8', 'not found: GET /metrics or /reports/\n', req);
}

/** The report directories, newest name last (names start with a sortable time). */
export function listReports(dir: string | undefined): string[] {
  if (!dir) return [];
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && SAFE_NAME.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, req?: IncomingMessage): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(req?.method === 'HEAD' ? undefined : body);
}
