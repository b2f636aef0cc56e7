import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

/**
 * A stable address per store. The renderer keeps unsaved annotations and ratings in the browser's storage, which
 * belongs to the page's origin (host and port): if a restarted server came back on another port, a reloaded page
 * could no longer send what it kept. So the same store gets the same port (when free) across restarts.
 *
 * Only the address is stable, not the secret: the token is new at every launch (src/server/http.ts) and never
 * written to disk. The origin, and with it the browser's unsaved marks, survives a restart; a token copied from
 * an earlier launch, or leaked through the cookie to another local listener, stops working when xwb stops.
 */
export function stablePort(storePath: string): number {
  const h = createHash('sha256').update(resolve(storePath)).digest();
  return 20_000 + (h.readUInt32BE(0) % 20_000);
}
