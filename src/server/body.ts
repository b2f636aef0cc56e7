import type { IncomingMessage } from 'node:http';
import { ApiError } from '../api/contract.js';

/**
 * Request bodies of web mode: JSON only, UTF-8 only, bounded. Every refusal is an ApiError with the status a
 * client can act on (400 malformed, 413 too large, 415 wrong type), never a reset connection.
 */
export const MAX_BODY = 1 << 20;
/**
 * How much of an oversized body is still read (and dropped) so the 413 reaches the client: closing a socket
 * that still has unread data makes the kernel send a reset, and the client then sees no answer at all.
 * Past this the connection is cut (a client that keeps sending tens of MiB is not waiting for answers).
 */
const DRAIN_LIMIT = 16 << 20;

/**
 * True for `application/json`, with at most a `charset=utf-8` parameter. Matched as a media type, not as a
 * prefix: `application/jsonp` or `application/json-seq` are other types.
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => p === '' || /^charset="?utf-8"?$/.test(p));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as a JSON value; an empty body is `{}` (methods without parameters). */
export function parseJsonBody(bytes: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError('request body is not valid UTF-8', 400);
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(`request body is not valid JSON (${(e as Error).message})`, 400);
  }
}

export function readJsonBody(req: IncomingMessage, max = MAX_BODY): Promise<unknown> {
  const tooLarge = () => new ApiError(`request body larger than ${max} bytes (the limit is 1 MiB)`, 413);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT) return Promise.reject(tooLarge());
  return new Promise((resolveBody, reject) => {
    let size = 0;
    let over = Number.isFinite(declared) && declared > max;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      if (over) {
        chunks.length = 0;
        if (size > DRAIN_LIMIT) {
          req.pause();
          // The caller answers 413 and closes the connection.
          reject(tooLarge());
        }
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (over) return reject(tooLarge());
      try {
        resolveBody(parseJsonBody(Buffer.concat(chunks)));
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}
