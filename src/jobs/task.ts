/**
 * What a job task module exports, and what it gets: the contract between the generic job runner (runner.ts,
 * worker.ts) and the work itself (tasks/*). A task runs in a worker thread with its own store connection; it
 * reports progress through `ctx.progress` and stops when `ctx.signal` aborts.
 */
import type { EngineInfo, EngineName } from '../engine/types.js';
import type { Json, JsonObject, Store } from '../store/index.js';

const ENGINE_LABELS: Record<EngineName, string> = {
  gpu: 'tfjs-node-gpu',
  node: 'tfjs-node',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** What `ctx.engine` is told: the engine as people install it, and where its maths runs. */
export function engineLabel(info: Pick<EngineInfo, 'name' | 'device'>): string {
  return `${ENGINE_LABELS[info.name]} (${info.device})`;
}

export interface TaskProgress {
  done: number;
  total: number;
  /** What the task is doing now, in words ("explain gradcam"). */
  stage?: string;
}

export interface TaskContext {
  /** The worker's own connection to the store (SQLite connections cannot cross threads). */
  store: Store;
  /** Aborts when the job is cancelled. */
  signal: AbortSignal;
  /**
   * Reports progress. Also the cancellation point of synchronous work (which never yields to the message loop):
   * once the job is cancelled it throws the signal's reason.
   */
  progress(p: TaskProgress): void;
  /**
   * Says which tfjs engine the task computes on (tfjs-node-gpu, tfjs-node, wasm, cpu), once it has started one; a
   * team worker shows it in the job's stored progress and its log.
   */
  engine(name: string): void;
}

/** A task module's export: `export const task: Task = { run }`. The result must be plain JSON (it is stored). */
export interface Task {
  run(params: JsonObject, ctx: TaskContext): Promise<Json>;
}

/** Messages of the job worker to its parent. */
export type WorkerMessage =
  | ({ type: 'progress' } & TaskProgress)
  | { type: 'engine'; engine: string }
  | { type: 'done'; result: Json }
  | { type: 'error'; message: string; cancelled: boolean };

/** What the parent sends: the cancel flag travels as shared memory too, for tasks that never yield. */
export interface JobWorkerData {
  dbPath: string;
  jobId: number;
  /**
   * Least time between two progress writes to the jobs table. The worker writes them on its own connection: a
   * write on the caller's thread would wait there for the task's own write transactions (better-sqlite3 blocks),
   * stalling the server for as long as the task holds the lock.
   */
  storeIntervalMs: number;
  /** The task module's URL (chosen by the server's kind table, never by a request). */
  module: string;
  params: JsonObject;
  /** Int32Array over a SharedArrayBuffer: [0] becomes 1 when the job is cancelled. */
  cancel: SharedArrayBuffer;
  /**
   * Which worker runs the job ("host:pid"), set by a team worker: the stored stage then says where and on which
   * engine it runs ("explain gradcam · wasm on host:pid"). Unset in the desktop, whose stages stay as they were.
   */
  where?: string;
}
