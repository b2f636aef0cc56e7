import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { ApiError, isMethod, validateRequest, type XwbEvent } from '../api/contract.js';
import type { XwbService } from '../api/service.js';

/**
 * Web mode: the renderer and the contract over HTTP on loopback. Security model:
 * - a per-launch random token; the printed address carries it once (`/?token=…`), the server trades it for an
 *   HttpOnly, SameSite=Strict cookie and redirects to `/`, so the token does not linger in the address bar;
 *   scripts may send `Authorization: Bearer <token>` instead;
 * - the Host header must name this server (blocks DNS-rebinding pages from reaching it);
 * - POST bodies must be JSON (a cross-site form cannot send that without a preflight), at most 1 MiB;
 * - files are served only through ids the store knows, and image paths are checked to lie inside their dataset.
 */
export interface WebServer {
  url: string;
  /** The address with the launch token, to print or open. */
  launchUrl: string;
  token: string;
  server: Server;
  close(): Promise<void>;
}

export interface WebServerOptions {
  service: XwbService;
  host?: string;
  port?: number;
  /** Folder of the built renderer (index.html + assets). */
  staticDir: string;
  token?: string;
}

const COOKIE = 'xwb_token';
const MAX_BODY = 1 << 20;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};
const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
};
// The renderer loads only its own scripts; images and heatmaps come from this origin (blob: for canvases).
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(data);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolveBody, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError('request body larger than 1 MiB', 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolveBody({});
      try {
        resolveBody(JSON.parse(text));
      } catch {
        reject(new ApiError('request body is not valid JSON', 400));
      }
    });
    req.on('error', reject);
  });
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const staticRoot = resolve(opts.staticDir);
  const { service } = opts;
  const clients = new Set<ServerResponse>();
  const onEvent = (e: XwbEvent) => {
    const frame = `data: ${JSON.stringify(e)}\n\n`;
    for (const c of clients) c.write(frame);
  };
  service.events.on('event', onEvent);
  let allowedHosts: Set<string> = new Set();

  const authorised = (req: IncomingMessage): boolean => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameToken(auth.slice(7), token)) return true;
    const c = cookieToken(req);
    return c !== undefined && sameToken(c, token);
  };

  const serveStatic = (res: ServerResponse, pathname: string) => {
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
    const file = resolve(staticRoot, rel);
    if (file !== staticRoot && !file.startsWith(staticRoot + sep))
      return sendJson(res, 403, { error: 'forbidden' });
    const target = existsSync(file) && statSync(file).isFile() ? file : join(staticRoot, 'index.html');
    if (!existsSync(target)) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`The renderer is not built (${staticRoot} has no index.html). Run: npm run build`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': target.endsWith('index.html') ? 'no-store' : 'max-age=3600',
    });
    createReadStream(target).pipe(res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) {
      return sendJson(res, 421, { error: `unexpected Host header "${req.headers.host ?? ''}"` });
    }
    const path = url.pathname;
    // The launch address: trade the token for a cookie, then drop it from the address bar.
    if (req.method === 'GET' && url.searchParams.has('token')) {
      if (!sameToken(url.searchParams.get('token') ?? '', token))
        return sendJson(res, 403, { error: 'wrong token' });
      res.writeHead(303, {
        location: path,
        'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
      });
      return res.end();
    }
    if (!(path.startsWith('/api/') || path === '/events' || path.startsWith('/files/'))) {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendJson(res, 405, { error: 'method not allowed' });
      return serveStatic(res, path);
    }
    if (!authorised(req)) {
      return sendJson(res, 401, {
        error: 'not signed in: open the address xwb printed at launch (it carries a token)',
      });
    }
    if (path.startsWith('/api/')) {
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return sendJson(res, 415, { error: 'content-type must be application/json' });
      }
      const method = path.slice(5);
      if (!isMethod(method)) return sendJson(res, 404, { error: `unknown method "${method}"` });
      const body = await readBody(req);
      const valid = validateRequest(method, body);
      return sendJson(res, 200, await service.call(method, valid));
    }
    if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(': connected\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    const m = /^\/files\/(image|explanation)\/(\d+)$/.exec(path);
    if (!m) return sendJson(res, 404, { error: 'not found' });
    const idNum = Number(m[2]);
    if (m[1] === 'image') {
      const { file, format } = service.imageFile(idNum);
      res.writeHead(200, {
        'content-type': IMAGE_TYPES[format] ?? 'application/octet-stream',
        'cache-control': 'private, max-age=3600',
        'x-content-type-options': 'nosniff',
      });
      createReadStream(file).pipe(res);
      return;
    }
    const data = service.explanationData(idNum);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'cache-control': 'private, max-age=3600',
    });
    res.end(data);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy();
      if (e instanceof ApiError) return sendJson(res, e.status, { error: e.message, field: e.field });
      const err = e as Error;
      // Core errors name the file and the problem; they are shown to the user as they are.
      sendJson(res, 500, { error: err?.message ?? String(e) });
    });
  });
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': ping\n\n');
  }, 15_000);
  heartbeat.unref();

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  allowedHosts = new Set(
    [`${hostForUrl}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`].map((h) => h.toLowerCase()),
  );
  const url = `http://${hostForUrl}:${port}/`;
  return {
    url,
    launchUrl: `${url}?token=${token}`,
    token,
    server,
    close: async () => {
      clearInterval(heartbeat);
      service.events.off('event', onEvent);
      for (const c of clients) c.end();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
