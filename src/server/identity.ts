import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * A stable address and token per store. The renderer keeps unsaved annotations and ratings in the browser's
 * storage, which belongs to the page's origin (host and port): if a restarted server came back on another port or
 * with another token, a reloaded page could no longer send what it kept. So the same store gets the same port
 * (when free) and the same token across restarts; the token lives next to the store, readable by its owner only.
 */
export function stablePort(storePath: string): number {
  const h = createHash('sha256').update(resolve(storePath)).digest();
  return 20_000 + (h.readUInt32BE(0) % 20_000);
}

export function storeToken(storePath: string): string {
  const file = join(dirname(resolve(storePath)), `.${basename(storePath)}.serve-token`);
  if (existsSync(file)) {
    const t = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{32,}$/.test(t)) return t;
  }
  const token = randomBytes(24).toString('base64url');
  writeFileAtomic(file, `${token}\n`);
  chmodSync(file, 0o600);
  return token;
}
