/**
 * The training thread: started by `startTraining` (background.ts) with `workerData: WorkerRequest`. It starts its
 * own engine, opens its own connection to the store (SQLite connections cannot cross threads), runs the trainer
 * and posts every TrainEvent to the parent; a `{ type: 'cancel' }` message from the parent cancels the run
 * after the current step. It ends with exactly one 'done' or 'error' event.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { initEngine } from '../engine/select.js';
import type { EngineName } from '../engine/types.js';
import { openStore, type Store } from '../store/index.js';
import type { TrainConfigInput } from './config.js';
import type { TrainEvent } from './events.js';
import { resumeRun, train } from './trainer.js';

export type WorkerRequest =
  | { dbPath: string; engine?: EngineName; config: TrainConfigInput }
  | { dbPath: string; engine?: EngineName; resume: number; force?: boolean };

export type ParentMessage = { type: 'cancel' };

async function main(request: WorkerRequest, post: (e: TrainEvent) => void): Promise<void> {
  const controller = new AbortController();
  parentPort?.on('message', (m: ParentMessage) => {
    if (m?.type === 'cancel') controller.abort();
  });
  let runId: number | null = null;
  let store: Store | undefined;
  try {
    const engine = await initEngine(request.engine ? { prefer: request.engine } : {});
    store = openStore(request.dbPath);
    const options = {
      engine,
      signal: controller.signal,
      onEvent: (e: TrainEvent) => {
        if (e.type === 'start') runId = e.runId;
        post(e);
      },
    };
    if ('resume' in request) {
      await resumeRun(store, request.resume, { ...options, force: request.force ?? false });
    } else {
      await train(store, request.config, options);
    }
  } catch (e) {
    post({ type: 'error', runId, message: e instanceof Error ? e.message : String(e) });
  } finally {
    store?.close();
    parentPort?.removeAllListeners('message');
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  void main(workerData as WorkerRequest, (e) => port.postMessage(e));
}
