import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XwbService } from '../api/service.js';
import type { Store } from '../store/index.js';
import { startWebServer, type TeamOptions, type WebServer, type WebServerLimits } from './http.js';

/** The built renderer: `dist/renderer` at the repository root (both from src/ via tsx and from dist/src). */
export function rendererDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${join('dist', 'src')}`)
    ? join(here, '..', '..', '..')
    : join(here, '..', '..');
  return process.env.XWB_RENDERER_DIR ?? join(root, 'dist', 'renderer');
}

export async function serveWorkbench(
  store: Store,
  opts: {
    host?: string;
    port?: number;
    version: string;
    /** Only for tests; otherwise a fresh token per launch. */
    token?: string;
    limits?: Partial<WebServerLimits>;
    /** Team mode: long jobs go to `xwb worker` processes through the pg-boss queue at this postgres:// URL. */
    queue?: string;
    /** Team mode: accounts and roles, over TLS (src/server/http.ts). */
    team?: TeamOptions;
  },
): Promise<{ web: WebServer; service: XwbService }> {
  const service = new XwbService({
    store,
    transport: 'web',
    version: opts.version,
    urls: {
      image: (id) => `/files/image/${id}`,
      explanation: (id) => `/files/explanation/${id}`,
      thumb: (id) => `/files/thumb/${id}`,
    },
  });
  let jobQueue: import('../jobs/queue.js').JobQueue | undefined;
  if (opts.queue) {
    const { PgBossJobQueue } = await import('../jobs/pgboss/server.js');
    const { jobKinds } = await import('../jobs/kinds.js');
    jobQueue = await PgBossJobQueue.connect({ store, url: opts.queue, kinds: jobKinds() });
  }
  await (await import('../api/register.js')).registerAllHandlers(service, { jobQueue });
  const web = await startWebServer({
    service,
    host: opts.host,
    port: opts.port,
    staticDir: rendererDir(),
    token: opts.token,
    limits: opts.limits,
    team: opts.team,
  });
  return { web, service };
}
