import type { JobQueue } from '../jobs/queue.js';
import type { XwbService } from './service.js';

/**
 * Every handler group, registered once. Both transports (web mode in src/server/launch.ts, Electron in
 * electron/core.cts) call this, so a method added to the contract works in both or in neither.
 */
export async function registerAllHandlers(
  service: XwbService,
  opts: { jobQueue?: JobQueue } = {},
): Promise<void> {
  await (await import('./handlers.js')).registerCoreHandlers(service);
  (await import('./training-handlers.js')).registerTrainingHandlers(service, opts.jobQueue);
  (await import('./annotation-handlers.js')).registerAnnotationHandlers(service);
  (await import('./review-handlers.js')).registerReviewHandlers(service, { jobQueue: opts.jobQueue });
  (await import('./job-handlers.js')).registerJobHandlers(service, {}, opts.jobQueue);
}
