/**
 * The analysis's evaluation thread (started by job.ts): its own engine and store connection, the session's plan
 * measured (measure.ts), progress posted to the parent, `{ type: 'cancel' }` honoured between images. Ends with exactly one 'done' or 'error' message.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { EvalGroup } from './plan.js';

export interface EvalWorkerRequest {
  dbPath: string;
  plan: EvalGroup[];
  /** Metric selection as `xwb eval --metrics` takes it; default the cheap set. */
  metrics?: string;
}

export type EvalWorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; values: number }
  | { type: 'error'; message: string; cancelled: boolean };

async function main(req: EvalWorkerRequest, post: (m: EvalWorkerMessage) => void): Promise<void> {
  const controller = new AbortController();
  parentPort?.on('message', (m: { type?: string }) => {
    if (m?.type === 'cancel') controller.abort();
  });
  const { openStore } = await import('../../store/index.js');
  let store: import('../../store/index.js').Store | undefined;
  try {
    const { initEngine } = await import('../../engine/select.js');
    const { measurePlan } = await import('./measure.js');
    await initEngine({ logger: () => {} });
    store = openStore(req.dbPath);
    const { values } = await measurePlan(store, req.plan, {
      ...(req.metrics !== undefined ? { metrics: req.metrics } : {}),
      signal: controller.signal,
      onProgress: (done, total) => post({ type: 'progress', done, total }),
    });
    post({ type: 'done', values });
  } catch (e) {
    post({
      type: 'error',
      message: e instanceof Error ? e.message : String(e),
      cancelled: controller.signal.aborted,
    });
  } finally {
    store?.close();
    parentPort?.removeAllListeners('message');
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  void main(workerData as EvalWorkerRequest, (m) => port.postMessage(m));
}
