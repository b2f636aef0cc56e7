/**
 * The job thread: imports the task module named in workerData, opens its own store connection and runs the task,
 * posting progress and ending with exactly one 'done' or 'error' message. Cancellation arrives both as a message
 * (for tasks that await) and as a shared flag (for synchronous work, checked in `progress`).
 */
import { getPriority, setPriority } from 'node:os';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openStore, type Store } from '../store/index.js';
import type { JobWorkerData, Task, TaskProgress, WorkerMessage } from './task.js';

/**
 * Lowers this thread's scheduling priority (on Linux a thread has its own nice value; elsewhere this may apply to
 * the process or fail, which changes nothing that matters): on a busy machine the server's event loop then
 * gets a core before the job does, and the workbench stays responsive while a job computes.
 */
function yieldToTheServer(): void {
  try {
    setPriority(0, Math.min(19, getPriority(0) + 10));
  } catch {
    // Not permitted or not supported: the job just runs at the server's priority.
  }
}

async function main(data: JobWorkerData, post: (m: WorkerMessage) => void): Promise<void> {
  if (process.platform === 'linux') yieldToTheServer();
  const controller = new AbortController();
  const flag = new Int32Array(data.cancel);
  const cancel = () => {
    if (!controller.signal.aborted) controller.abort(new Error('cancelled'));
  };
  parentPort?.on('message', (m: { type?: string }) => {
    if (m?.type === 'cancel') cancel();
  });
  let store: Store | undefined;
  try {
    const mod = (await import(data.module)) as { task?: Task };
    if (typeof mod.task?.run !== 'function') throw new Error(`${data.module} exports no task`);
    const own = openStore(data.dbPath);
    store = own;
    let lastWrite = 0;
    let engine: string | null = null;
    const stored = (stage: string | undefined): string | null => {
      if (data.where === undefined) return stage ?? null;
      const on = `${engine ? `${engine} ` : ''}on ${data.where}`;
      return stage ? `${stage} · ${on}` : on;
    };
    const result = await mod.task.run(data.params, {
      store: own,
      signal: controller.signal,
      progress(p: TaskProgress) {
        if (Atomics.load(flag, 0) === 1) cancel();
        controller.signal.throwIfAborted();
        post({ type: 'progress', ...p });
        const now = Date.now();
        if (now - lastWrite >= data.storeIntervalMs) {
          lastWrite = now;
          own.jobs.setProgress(data.jobId, { done: p.done, total: p.total, stage: stored(p.stage) });
        }
      },
      engine(name: string) {
        engine = name;
        post({ type: 'engine', engine: name });
      },
    });
    if (controller.signal.aborted || Atomics.load(flag, 0) === 1) {
      post({ type: 'error', message: 'cancelled', cancelled: true });
    } else post({ type: 'done', result });
  } catch (e) {
    const cancelled = controller.signal.aborted || Atomics.load(flag, 0) === 1;
    post({ type: 'error', message: e instanceof Error ? e.message : String(e), cancelled });
  } finally {
    store?.close();
    parentPort?.removeAllListeners('message');
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  void main(workerData as JobWorkerData, (m) => port.postMessage(m));
}
