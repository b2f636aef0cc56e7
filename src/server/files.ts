import type { FileHandle } from 'node:fs/promises';
import { open, realpath } from 'node:fs/promises';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';
import { ApiError } from '../api/contract.js';

/**
 * Files sent by web mode. A file that cannot be read is an answer (404, 403, 503), never an unhandled stream
 * error: a single image replaced by a folder, deleted after its import, or a moment without free file
 * descriptors must not take the server down with every unsaved change in the browser.
 */

/** The ApiError for a failed open/read of `file`. */
export function fileError(e: unknown, file: string, what: string): ApiError {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ApiError(`${file}: the ${what} file is missing (moved or deleted?)`, 404);
    case 'EISDIR':
      return new ApiError(`${file}: the ${what} is not a file (a folder is in its place)`, 404);
    case 'EACCES':
    case 'EPERM':
      return new ApiError(`${file}: the ${what} file is not readable (permission denied)`, 403);
    case 'EMFILE':
    case 'ENFILE':
      return new ApiError(
        `cannot open ${file} now: the server has run out of file descriptors (too many open connections); try again`,
        503,
      );
    default:
      return new ApiError(`${file}: cannot read the ${what} (${(e as Error)?.message ?? String(e)})`, 500);
  }
}

/**
 * Streams `file` as the response. Throws an ApiError (before any header is sent) when it cannot be opened or is
 * not a regular file; a read error after the headers went out ends the response early (the client sees a short
 * body, not a hung request), and the server keeps running.
 */
export async function sendFile(
  res: ServerResponse,
  file: string,
  headers: OutgoingHttpHeaders,
  what: string,
  method = 'GET',
): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw fileError(e, file, what);
  }
  let size: number;
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw Object.assign(new Error('not a regular file'), { code: st.isDirectory() ? 'EISDIR' : 'ENOENT' });
    }
    size = st.size;
  } catch (e) {
    await fh.close().catch(() => {});
    throw fileError(e, file, what);
  }
  res.writeHead(200, { ...headers, 'content-length': size });
  if (method === 'HEAD') {
    await fh.close().catch(() => {});
    res.end();
    return;
  }
  const stream = fh.createReadStream({ autoClose: true });
  stream.on('error', () => {
    // Headers are out: the only honest signal left is a cut-short body.
    res.destroy();
  });
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

/**
 * The file under `root` that a URL path names, or an ApiError: malformed %-escapes (400), NUL bytes (400), and
 * anything that leaves `root` after decoding, including through a symbolic link (403). `/` is index.html.
 * Returns null for a path that names nothing (the caller decides whether that is index.html or a 404).
 */
export async function staticFile(root: string, urlPath: string): Promise<string | null> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    throw new ApiError(`malformed %-escape in the path "${urlPath.slice(0, 200)}"`, 400);
  }
  if (path.includes('\0')) throw new ApiError('the path contains a NUL byte', 400);
  const rel = path === '/' || path === '' ? 'index.html' : path.replace(/^\/+/, '');
  const base = resolve(root);
  const file = resolve(base, rel);
  if (/^[a-zA-Z]:/.test(rel) || rel.startsWith('\\') || !file.startsWith(base + sep)) {
    throw new ApiError('forbidden: the path leaves the renderer folder', 403);
  }
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return null;
  }
  const realBase = await realpath(base).catch(() => base);
  if (!real.startsWith(realBase + sep)) {
    throw new ApiError('forbidden: the path leads out of the renderer folder through a link', 403);
  }
  return real;
}
