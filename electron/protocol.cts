/**
 * The `xwb://` protocol: the renderer, its images and its heatmaps from one origin, `xwb://app/`.
 *
 *   xwb://app/files/image/<id>        → service.imageFile(id)   (checked to lie inside its dataset's folder)
 *   xwb://app/files/explanation/<id>  → service.explanationData(id)
 *   xwb://app/<path>                  → a file of the built renderer (path-checked), index.html for app routes
 *   anything else                     → 404
 *
 * Why one origin rather than xwb://image/… hosts: the CSP then is exactly web mode's ('self'), canvases that draw
 * images stay untainted, and heatmap fetches need no CORS. The file routes are the same paths as web mode's
 * (`/files/image/<id>`), so the renderer builds the same URLs in both transports.
 *
 * Pure routing + a handler built on the standard Request/Response, so Node can test it without Electron.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { APP_HOST, CSP, SCHEME } from './security.cjs';

export type AppRoute =
  | { kind: 'image'; id: number }
  | { kind: 'explanation'; id: number }
  | { kind: 'static'; path: string }
  | { kind: 'not-found'; reason: string };

/** The part of XwbService the protocol uses. */
export interface FileSource {
  imageFile(imageId: number): { file: string; format: string };
  explanationData(explanationId: number): Buffer;
}

const FILE_ROUTE = /^\/files\/(image|explanation)\/([1-9][0-9]{0,14})$/;

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
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

/** Which resource an xwb:// URL names. Never touches the disk. */
export function routeAppUrl(url: string): AppRoute {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { kind: 'not-found', reason: 'not a URL' };
  }
  if (u.protocol !== `${SCHEME}:` || u.host !== APP_HOST || u.username || u.password || u.port) {
    return { kind: 'not-found', reason: `not an ${SCHEME}://${APP_HOST}/ address` };
  }
  const m = FILE_ROUTE.exec(u.pathname);
  if (m) return { kind: m[1] === 'image' ? 'image' : 'explanation', id: Number(m[2]) };
  if (u.pathname.startsWith('/files/')) return { kind: 'not-found', reason: 'unknown file route' };
  let path: string;
  try {
    path = decodeURIComponent(u.pathname);
  } catch {
    return { kind: 'not-found', reason: 'malformed percent-encoding' };
  }
  return { kind: 'static', path };
}

/**
 * The renderer file a static path names, or null when it would leave `root` (`..` after decoding, absolute
 * paths, NUL bytes, drive letters on Windows). `/` is index.html.
 */
export function resolveStaticFile(root: string, path: string): string | null {
  if (path.includes('\0')) return null;
  const rel = path === '/' || path === '' ? 'index.html' : path.replace(/^\/+/, '');
  if (rel === '' || /^[a-zA-Z]:/.test(rel) || rel.startsWith('\\')) return null;
  const base = resolve(root);
  const file = resolve(base, rel);
  return file.startsWith(base + sep) ? file : null;
}

function text(status: number, message: string): Response {
  return new Response(message, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  });
}

/** Errors from the core carry an HTTP-like status (ApiError); anything else is a 500. */
function errorResponse(e: unknown): Response {
  const status =
    typeof e === 'object' && e !== null && 'status' in e && typeof e.status === 'number' ? e.status : 500;
  const message = e instanceof Error ? e.message : String(e);
  return text(status >= 400 && status < 600 ? status : 500, message);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export interface ProtocolHandlerOptions {
  files: FileSource;
  /** The built renderer (dist/renderer). */
  rendererRoot: string;
}

/** The handler for `protocol.handle('xwb', …)`: standard Request in, standard Response out. */
export function createProtocolHandler(opts: ProtocolHandlerOptions): (request: Request) => Promise<Response> {
  const root = resolve(opts.rendererRoot);
  const serveStatic = async (path: string): Promise<Response> => {
    const file = resolveStaticFile(root, path);
    if (!file) return text(403, 'forbidden: the path leaves the renderer folder');
    // App routes without a file extension get index.html (client-side routing); a missing asset is a 404, not
    // HTML that the browser would then refuse as a script.
    const index = resolve(root, 'index.html');
    const target = (await isFile(file)) ? file : file === index || extname(file) === '' ? index : null;
    if (!target) return text(404, 'not found');
    if (!(await isFile(target))) {
      return text(503, `The renderer is not built (${root} has no index.html). Run: npm run build`);
    }
    const isHtml = target.endsWith('.html');
    return new Response(new Uint8Array(await readFile(target)), {
      status: 200,
      headers: {
        'content-type': STATIC_TYPES[extname(target)] ?? 'application/octet-stream',
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': isHtml ? 'no-store' : 'max-age=3600',
      },
    });
  };

  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'method not allowed');
    const route = routeAppUrl(request.url);
    try {
      switch (route.kind) {
        case 'not-found':
          return text(404, `not found: ${route.reason}`);
        case 'static':
          return await serveStatic(route.path);
        case 'image': {
          const { file, format } = opts.files.imageFile(route.id);
          return new Response(new Uint8Array(await readFile(file)), {
            status: 200,
            headers: {
              'content-type': IMAGE_TYPES[format] ?? 'application/octet-stream',
              'cache-control': 'private, max-age=3600',
              'x-content-type-options': 'nosniff',
            },
          });
        }
        case 'explanation': {
          const data = opts.files.explanationData(route.id);
          return new Response(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), {
            status: 200,
            headers: {
              'content-type': 'application/octet-stream',
              'cache-control': 'private, max-age=3600',
              'x-content-type-options': 'nosniff',
            },
          });
        }
      }
    } catch (e) {
      return errorResponse(e);
    }
  };
}
