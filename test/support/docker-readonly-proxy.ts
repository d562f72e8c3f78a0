// A Docker API proxy on a unix socket that lets only read-only calls through: GET and HEAD are
// forwarded to the real socket (streams included: events, logs with follow), anything else is
// refused with 403 and recorded. Upgrades (attach/exec websockets, hijacked streams) are refused too:
// they write to a container. Put a collector behind it to prove it never writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ProxiedCall {
  method: string;
  url: string;
}

export interface DockerReadonlyProxy {
  /** unix:///... for DOCKER_HOST. */
  dockerHost: string;
  /** Calls forwarded to the daemon. */
  forwarded: ProxiedCall[];
  /** Calls refused with 403. */
  rejected: ProxiedCall[];
  close(): Promise<void>;
}

const READ_ONLY = new Set(['GET', 'HEAD']);
/** GETs that attach to a container's stdio (websocket): a write path despite the method. */
const ATTACH = /\/containers\/[^/]+\/attach\b/;

export async function startDockerReadonlyProxy(targetSocket: string): Promise<DockerReadonlyProxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fp-docker-proxy-'));
  const socket = path.join(dir, 'docker.sock');
  const forwarded: ProxiedCall[] = [];
  const rejected: ProxiedCall[] = [];

  const refuse = (req: IncomingMessage, res: ServerResponse) => {
    rejected.push({ method: req.method ?? '', url: req.url ?? '' });
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `read-only proxy: ${req.method} ${req.url} refused` }));
  };

  const server: Server = createServer((req, res) => {
    const call = { method: req.method ?? '', url: req.url ?? '' };
    if (!READ_ONLY.has(call.method) || ATTACH.test(call.url)) return refuse(req, res);
    forwarded.push(call);
    const upstream = request({ socketPath: targetSocket, method: call.method, path: call.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // Now, not with the first body byte: an events stream may stay silent for long, and the
      // client waits for the headers before it calls the stream open.
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `read-only proxy: ${err.message}` }));
    });
    // A client that goes away (a stopped events stream) ends the upstream request too.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (req: IncomingMessage, client: Duplex) => {
    rejected.push({ method: `${req.method ?? ''} (upgrade)`, url: req.url ?? '' });
    client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });

  return {
    dockerHost: `unix://${socket}`,
    forwarded,
    rejected,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
