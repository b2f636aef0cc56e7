/**
 * The analysis's evaluation thread (started by job.ts): its own engine and store connection, the session's plan
 * measured group by group with `evaluateRun` (maps from the cache, values stored next to them), progress posted
 * to the parent, `{ type: 'cancel' }` honoured between images. Ends with exactly one 'done' or 'error' message.
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
    const { loadRunModel } = await import('../../explain/run-model.js');
    const { evaluateRun, resolveMetrics } = await import('../../evaluate/index.js');
    await initEngine({ logger: () => {} });
    store = openStore(req.dbPath);
    const metrics = resolveMetrics(req.metrics);
    const total = req.plan.reduce((n, g) => n + g.imageIds.length, 0);
    let done = 0;
    let values = 0;
    post({ type: 'progress', done, total });
    for (const runId of [...new Set(req.plan.map((g) => g.runId))]) {
      const model = await loadRunModel(store, runId);
      try {
        for (const g of req.plan.filter((x) => x.runId === runId)) {
          const base = done;
          const r = await evaluateRun(store, model, {
            methods: [g.method],
            methodParams: { [g.method]: g.params },
            metrics,
            imageIds: g.imageIds,
            classChoice: g.classIndex,
            signal: controller.signal,
            onProgress: (p) => {
              if (p.phase !== 'measure') return;
              done = base + p.done;
              post({ type: 'progress', done, total });
            },
          });
          values += r.values;
          done = base + g.imageIds.length;
        }
      } finally {
        model.dispose();
      }
    }
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
