/**
 * The passes split across this thread and `replicas − 1` worker threads, each with its own engine (wasm runs on
 * one core per engine) and a copy of the model: a batch of points is cut into near-equal consecutive shards,
 * the workers take theirs while this thread computes the first, and the results are concatenated in order.
 *
 * For a model whose weights do not change (a run's checkpoint): the weights are copied to the workers once, at
 * `create`. The holder calls `close()`.
 */
import type { Worker } from 'node:worker_threads';
import { defaultReplicas } from '../../engine/parallel/index.js';
import { allWeights, readInto, sizeOf, variablesOf } from '../../engine/parallel/replica.js';
import { siblingModule, spawnModuleWorker } from '../../engine/parallel/spawn.js';
import { tf } from '../../engine/tf.js';
import type { EngineName } from '../../engine/types.js';
import type { XwbModel } from '../../models/types.js';
import { LocalPasses } from './local.js';
import type { FromPassWorker, PassRefresh, PassRequest, ToPassWorker } from './protocol.js';
import type { Passes } from './types.js';

const WORKER_URL = siblingModule('worker', import.meta.url);

interface Remote {
  worker: Worker;
  pending: Map<number, { resolve: (v: Float32Array) => void; reject: (e: Error) => void }>;
  failed?: Error;
}

export interface PassPoolOptions {
  model: XwbModel;
  /** The engine each worker starts (the one this thread runs, normally initEngine's `name`). */
  engine: EngineName;
  /** Replicas including this thread; default one per core on wasm/cpu, 1 on the native engines. */
  replicas?: number;
  /** Most images of one backward pass per replica (Infinity: no bound). */
  limit?: number;
}

/** Near-equal consecutive shard sizes of n items over at most `parts` replicas. */
export function shardSizes(n: number, parts: number): number[] {
  const count = Math.max(1, Math.min(parts, n));
  return Array.from({ length: count }, (_, s) => Math.floor(n / count) + (s < n % count ? 1 : 0));
}

export class PassPool implements Passes {
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly local: LocalPasses,
    private readonly remotes: Remote[],
    private readonly weights: SharedArrayBuffer,
  ) {}

  static async create(options: PassPoolOptions): Promise<PassPool> {
    const { model, engine } = options;
    const replicas = options.replicas ?? defaultReplicas(engine);
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new Error(`PassPool: replicas must be an integer ≥ 1, got ${replicas}`);
    }
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const vars = variablesOf(allWeights(model));
    const weights = new SharedArrayBuffer(4 * sizeOf(vars));
    readInto(vars, new Float32Array(weights));
    const remotes: Remote[] = [];
    try {
      for (let r = 1; r < replicas; r++) {
        remotes.push(await startWorker({ type: 'init', spec: model.spec, engine, weights, limit }));
      }
    } catch (err) {
      for (const remote of remotes) await remote.worker.terminate();
      throw err;
    }
    return new PassPool(new LocalPasses(model, limit), remotes, weights);
  }

  get model(): XwbModel {
    return this.local.model;
  }

  get replicas(): number {
    return this.remotes.length + 1;
  }

  inputGradients(x: tf.Tensor4D, classes: readonly number[]): Promise<tf.Tensor4D> {
    if (classes.length !== x.shape[0]) {
      throw new Error(`PassPool: ${classes.length} classes for ${x.shape[0]} images`);
    }
    return this.split('gradients', x, classes, (xs, cs) =>
      this.local.inputGradients(xs, cs),
    ) as Promise<tf.Tensor4D>;
  }

  logits(x: tf.Tensor4D): Promise<tf.Tensor2D> {
    return this.split('logits', x, [], (xs) => this.local.logits(xs)) as Promise<tf.Tensor2D>;
  }

  /**
   * After the model's weights were changed in place (model-parameter randomisation shuffles a copy stage by
   * stage): copies them to the replicas again and drops every folded graph, so the next passes use them.
   */
  async refresh(): Promise<void> {
    if (this.closed) throw new Error('PassPool: used after close()');
    readInto(variablesOf(allWeights(this.local.model)), new Float32Array(this.weights));
    this.local.dispose();
    await Promise.all(this.remotes.map((r) => this.call(r, { type: 'refresh', id: this.nextId++ })));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.local.dispose();
    await Promise.all(this.remotes.map((r) => r.worker.terminate()));
  }

  private async split(
    type: PassRequest['type'],
    x: tf.Tensor4D,
    classes: readonly number[],
    here: (x: tf.Tensor4D, classes: readonly number[]) => Promise<tf.Tensor>,
  ): Promise<tf.Tensor> {
    if (this.closed) throw new Error('PassPool: used after close()');
    const [n, h, w, c] = x.shape;
    const sizes = shardSizes(n, this.replicas);
    if (sizes.length === 1) return here(x, classes);
    const pixels = x.dataSync() as Float32Array;
    const per = h * w * c;
    const replies: Promise<Float32Array>[] = [];
    let start = sizes[0];
    for (let s = 1; s < sizes.length; s++) {
      const k = sizes[s];
      replies.push(
        this.call(this.remotes[s - 1], {
          type,
          id: this.nextId++,
          images: pixels.slice(start * per, (start + k) * per),
          shape: [k, h, w, c],
          classes: Int32Array.from(classes.slice(start, start + k)),
        }),
      );
      start += k;
    }
    let mine: tf.Tensor;
    try {
      const head = tf.slice(x, [0, 0, 0, 0], [sizes[0], h, w, c]);
      try {
        mine = await here(head, classes.slice(0, sizes[0]));
      } finally {
        head.dispose();
      }
    } catch (err) {
      await Promise.allSettled(replies);
      throw err;
    }
    let theirs: Float32Array[];
    try {
      theirs = await Promise.all(replies);
    } catch (err) {
      mine.dispose();
      throw err;
    }
    const rest = mine.shape.slice(1);
    const out = tf.tidy(() =>
      tf.concat([mine, ...theirs.map((v, i) => tf.tensor(v, [sizes[i + 1], ...rest], 'float32'))], 0),
    );
    mine.dispose();
    return out;
  }

  private call(remote: Remote, msg: PassRequest | PassRefresh): Promise<Float32Array> {
    if (remote.failed) return Promise.reject(remote.failed);
    return new Promise((resolve, reject) => {
      remote.pending.set(msg.id, { resolve, reject });
      remote.worker.postMessage(msg, msg.type === 'refresh' ? [] : [msg.images.buffer as ArrayBuffer]);
    });
  }
}

async function startWorker(init: ToPassWorker): Promise<Remote> {
  const worker = spawnModuleWorker(WORKER_URL);
  const remote: Remote = { worker, pending: new Map() };
  const fail = (err: Error) => {
    remote.failed = err;
    for (const p of remote.pending.values()) p.reject(err);
    remote.pending.clear();
  };
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromPassWorker) => {
      if (m.type === 'ready') return resolve();
      const p = m.id === undefined ? undefined : remote.pending.get(m.id);
      if (m.type === 'error') {
        const err = new Error(`PassPool worker failed: ${m.message}`);
        if (!p) {
          reject(err);
          return fail(err);
        }
        remote.pending.delete(m.id as number);
        return p.reject(err);
      }
      if (p) {
        remote.pending.delete(m.id);
        p.resolve(m.values);
      }
    });
    worker.on('error', (err) => {
      reject(err);
      fail(new Error(`PassPool worker crashed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      reject(new Error(`PassPool worker exited (code ${code}) before it was ready`));
      fail(new Error(`PassPool worker exited (code ${code})`));
    });
  });
  worker.postMessage(init);
  await ready;
  return remote;
}
