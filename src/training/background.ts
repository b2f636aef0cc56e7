/**
 * Training off the caller's thread: `startTraining` runs the trainer in a worker thread (worker.ts) and hands
 * back its run id, its events and a cancel switch. The CLI and the desktop shell both train this way, so a long
 * run never blocks their event loop.
 */
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { EngineName } from '../engine/types.js';
import { spawnModuleWorker } from '../util/worker.js';
import type { TrainConfigInput } from './config.js';
import type { TrainEvent, TrainResult } from './events.js';
import type { ParentMessage, WorkerRequest } from './worker.js';

export interface StartOptions {
  /** Engine to force in the worker; default: XWB_ENGINE or the fastest that starts. */
  engine?: EngineName;
  /** Continue this failed/cancelled run instead of starting from `config` (pass config null). */
  resume?: number;
  /** With resume: also take over a run still marked running (its process is gone). */
  force?: boolean;
}

export interface TrainingHandle {
  /** Resolves once the run exists in the store; rejects if training fails before that. */
  readonly runId: Promise<number>;
  /** Resolves when the run is done or cancelled; rejects with the trainer's error. */
  readonly result: Promise<TrainResult>;
  /** Every event, as 'event' (also 'done'/'error' end the stream). */
  readonly events: EventEmitter<{ event: [TrainEvent] }>;
  /** Iterates the events from the moment it is called until 'done' or 'error'. */
  iterate(): AsyncIterableIterator<TrainEvent>;
  /** Asks the run to stop after its current step; it then ends 'cancelled'. Safe to call more than once. */
  cancel(): void;
}

/** Starts the worker thread (from the .ts sources through tsx's loader: see spawnModuleWorker). */
function spawnWorker(workerData: WorkerRequest): Worker {
  return spawnModuleWorker(new URL('./worker.js', import.meta.url), workerData, import.meta.url);
}

export function startTraining(
  dbPath: string,
  config: TrainConfigInput | null,
  options: StartOptions = {},
): TrainingHandle {
  let request: WorkerRequest;
  if (options.resume !== undefined) {
    request = { dbPath, resume: options.resume, force: options.force ?? false };
  } else {
    if (config === null) throw new Error('startTraining: give a config, or options.resume with a run id');
    request = { dbPath, config };
  }
  if (options.engine) request.engine = options.engine;
  const worker = spawnWorker(request);
  const events = new EventEmitter<{ event: [TrainEvent] }>();
  // No listener is not an error for us: events can be ignored.
  events.on('event', () => {});
  let settleRunId!: { resolve: (id: number) => void; reject: (e: Error) => void };
  let settleResult!: { resolve: (r: TrainResult) => void; reject: (e: Error) => void };
  const runId = new Promise<number>((resolve, reject) => {
    settleRunId = { resolve, reject };
  });
  const result = new Promise<TrainResult>((resolve, reject) => {
    settleResult = { resolve, reject };
  });
  // Callers that only await one of the two must not get an unhandled rejection from the other.
  runId.catch(() => {});
  result.catch(() => {});
  let finished = false;
  const end = (error: Error | null, value?: TrainResult) => {
    if (finished) return;
    finished = true;
    if (error) {
      settleRunId.reject(error);
      settleResult.reject(error);
    } else settleResult.resolve(value!);
    // The worker has said its last word; make sure no handle (wasm, timers) keeps the thread alive.
    void worker.terminate();
  };
  worker.on('message', (e: TrainEvent) => {
    events.emit('event', e);
    if (e.type === 'start') settleRunId.resolve(e.runId);
    else if (e.type === 'done') end(null, e.result);
    else if (e.type === 'error') end(new Error(e.message));
  });
  worker.on('error', (err) => {
    const message = `the training worker crashed: ${err.message}`;
    events.emit('event', { type: 'error', runId: null, message });
    end(new Error(message));
  });
  worker.on('exit', (code) => {
    if (!finished) {
      const message = `the training worker exited (code ${code}) before the run ended`;
      events.emit('event', { type: 'error', runId: null, message });
      end(new Error(message));
    }
  });
  return {
    runId,
    result,
    events,
    iterate: () => iterateEvents(events, () => finished),
    cancel() {
      if (!finished) worker.postMessage({ type: 'cancel' } satisfies ParentMessage);
    },
  };
}

/** An async iterator over the emitter's events, ending after 'done' or 'error'. */
function iterateEvents(
  events: EventEmitter<{ event: [TrainEvent] }>,
  alreadyFinished: () => boolean,
): AsyncIterableIterator<TrainEvent> {
  const queue: TrainEvent[] = [];
  let wake: (() => void) | null = null;
  let ended = alreadyFinished();
  const listener = (e: TrainEvent) => {
    queue.push(e);
    if (e.type === 'done' || e.type === 'error') {
      ended = true;
      events.off('event', listener);
    }
    wake?.();
  };
  if (!ended) events.on('event', listener);
  const iterator: AsyncIterableIterator<TrainEvent> = {
    async next() {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
      wake = null;
      const value = queue.shift();
      return value === undefined ? { value: undefined, done: true } : { value, done: false };
    },
    async return() {
      events.off('event', listener);
      ended = true;
      queue.length = 0;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
