/**
 * Data-parallel training and inference on one machine: the batch is split between this thread and
 * `replicas − 1` worker threads, each with its own tfjs engine (wasm runs on one core per engine) and a copy of
 * the model. Every step:
 *   1. the master publishes its weights in shared memory (only when they changed);
 *   2. each replica computes the gradient of share_s·L(shard_s), share_s = n_s / N, on its shard;
 *   3. the master sums the gradients (= the batch gradient of the mean of the shard losses), applies its
 *      optimiser, and sets its batch-norm moving statistics to the share-weighted mean of the replicas'.
 * So exactly one copy of the weights and optimiser state exists (the master's); workers hold copies.
 *
 * What "the same gradient" means: with batch normalisation in training mode each shard is normalised with its
 * own statistics (as PyTorch's DistributedDataParallel without SyncBatchNorm), and the hybrid term and
 * class-weighted cross-entropy are averaged per shard. Otherwise (BN in inference mode, no class weights, every
 * image masked or none) the result is the full-batch gradient. test/engine/parallel.test.ts checks both.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { ModelOutputs, ModelSpec, XwbModel } from '../../models/types.js';
import { tf } from '../tf.js';
import type { EngineName } from '../types.js';
import type { FromWorker, LossValues, PartName, ShardData, StepConfig, ToWorker } from './protocol.js';
import {
  allWeights,
  nonTrainableWeights,
  readInto,
  shardGradients,
  sizeOf,
  trainableVariables,
  variablesOf,
  writeFrom,
} from './replica.js';
import { siblingModule, spawnModuleWorker } from './spawn.js';

export type { LossValues, PartName, StepConfig } from './protocol.js';

export interface ParallelTrainerOptions {
  /** The model to train; the trainer takes it over as the master replica (the caller still owns it). */
  model: XwbModel;
  /** Engine each worker starts (the one the master runs on, normally: initEngine's `name`). */
  engine: EngineName;
  /**
   * Replicas including this thread. 1 = no workers, plain training. Default: one per core on the single-threaded
   * engines (wasm, cpu); 1 on the native ones, which already use every core.
   */
  replicas?: number;
  /**
   * Most images per forward/backward pass in one replica; larger shards are processed in chunks whose gradients
   * are summed. Default on wasm: what fits its 4 GB heap, ≈ 4·(224/inputSize)² images; unlimited elsewhere.
   */
  microBatch?: number;
}

export interface Batch {
  images: tf.Tensor4D;
  labels: tf.Tensor1D;
  masks?: { mask: tf.Tensor4D; present: readonly boolean[] };
}

interface Remote {
  worker: Worker;
  grads: Float32Array;
  stats: Float32Array;
  pending: Map<number, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>;
  failed?: Error;
}

const WORKER_URL = siblingModule('worker', import.meta.url);

function spawnWorker(): Worker {
  return spawnModuleWorker(WORKER_URL);
}

export class ParallelTrainer {
  private nextId = 0;
  private weightsVersion = 0;
  private published = -1;
  private closed = false;

  private constructor(
    private master: XwbModel,
    private readonly remotes: Remote[],
    private readonly weights: Float32Array,
    /** Most images per forward/backward pass in one replica (Infinity = no limit). */
    readonly microBatch: number,
  ) {}

  /** The master replica: it holds the real weights and optimiser state; workers hold copies. */
  get model(): XwbModel {
    return this.master;
  }

  /**
   * Makes `model` the master from now on (the trainer reloads the model between phases). It must have the
   * spec the workers were built from; its weights are published before the next step.
   */
  useModel(model: XwbModel): void {
    this.checkOpen();
    if (JSON.stringify(model.spec) !== JSON.stringify(this.master.spec)) {
      throw new Error(
        `ParallelTrainer.useModel: the model's spec differs from the workers' (${model.spec.kind}, ` +
          `${model.inputSize} px); create a new ParallelTrainer for a different model`,
      );
    }
    this.master = model;
    this.weightsVersion++;
  }

  /** Starts the workers and waits until each has built its replica. */
  static async create(options: ParallelTrainerOptions): Promise<ParallelTrainer> {
    const { model, engine } = options;
    const replicas = options.replicas ?? defaultReplicas(engine);
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new Error(`ParallelTrainer: replicas must be an integer ≥ 1, got ${replicas}`);
    }
    const weightsBuffer = new SharedArrayBuffer(4 * sizeOf(variablesOf(allWeights(model))));
    const gradSize = sizeOf(trainableVariables(model));
    const statSize = sizeOf(variablesOf(nonTrainableWeights(model)));
    const microBatch = options.microBatch ?? defaultMicroBatch(engine, model.inputSize);
    if (!(microBatch >= 1)) throw new Error(`ParallelTrainer: microBatch must be ≥ 1, got ${microBatch}`);
    const remotes: Remote[] = [];
    try {
      for (let r = 1; r < replicas; r++)
        remotes.push(await startWorker(model.spec, engine, weightsBuffer, gradSize, statSize, microBatch));
    } catch (err) {
      for (const remote of remotes) await remote.worker.terminate();
      throw err;
    }
    return new ParallelTrainer(model, remotes, new Float32Array(weightsBuffer), microBatch);
  }

  get replicas(): number {
    return this.remotes.length + 1;
  }

  /**
   * The summed gradients of the batch (see the module comment) for the trainable variables of both parts,
   * in the order of `model.variables.explainer` then `.classifier`; zero for parts not in config.parts. The
   * master's batch-norm statistics are updated as by a training forward pass. The caller disposes the result.
   */
  async gradients(batch: Batch, config: StepConfig): Promise<{ grads: tf.Tensor[]; losses: LossValues }> {
    this.checkOpen();
    const shards = splitBatch(batch, this.replicas);
    const n = batch.images.shape[0];
    this.publishWeights();
    const remoteReplies = shards.slice(1).map((shard, i) =>
      this.call(this.remotes[i], {
        type: 'step',
        id: this.nextId++,
        weightsVersion: this.weightsVersion,
        shard,
        share: shard.shape[0] / n,
        config,
      }),
    );
    // The master's own shard runs while the workers compute theirs.
    let local: { grads: tf.Tensor[]; losses: LossValues };
    try {
      local = shardGradients(this.model, shards[0], shards[0].shape[0] / n, config, this.microBatch);
    } catch (err) {
      await Promise.allSettled(remoteReplies);
      throw err;
    }
    const replies = await Promise.allSettled(remoteReplies);
    const failure = replies.find((r) => r.status === 'rejected');
    if (failure) {
      tf.dispose(local.grads);
      throw (failure as PromiseRejectedResult).reason;
    }
    const used = this.remotes.slice(0, shards.length - 1);
    const losses = { ...local.losses };
    for (const reply of replies) {
      const m = (reply as PromiseFulfilledResult<FromWorker>).value;
      if (m.type !== 'stepped') throw new Error(`internal: worker answered a step with '${m.type}'`);
      for (const k of Object.keys(losses) as (keyof LossValues)[]) losses[k] += m.losses[k];
    }
    const grads = this.sumGradients(local.grads, used);
    this.mergeStatistics(shards, used, n);
    return { grads, losses };
  }

  /** One optimiser step on the batch: gradients, then `optimizer.applyGradients` for the trained parts. */
  async step(batch: Batch, config: StepConfig, optimizer: tf.Optimizer): Promise<LossValues> {
    const { grads, losses } = await this.gradients(batch, config);
    const vars = trainableVariables(this.model);
    const trained = new Set<tf.Variable>(config.parts.flatMap((p: PartName) => this.model.variables[p]));
    const named: tf.NamedTensorMap = {};
    vars.forEach((v, i) => {
      if (trained.has(v)) named[v.name] = grads[i];
    });
    optimizer.applyGradients(named);
    tf.dispose(grads);
    this.weightsVersion++;
    return losses;
  }

  /** Inference (inference mode) with the batch split across the replicas. The caller disposes the result. */
  async predict(images: tf.Tensor4D): Promise<ModelOutputs> {
    this.checkOpen();
    const shards = splitBatch({ images }, this.replicas);
    this.publishWeights();
    const replies = shards.slice(1).map((shard, i) =>
      this.call(this.remotes[i], {
        type: 'predict',
        id: this.nextId++,
        weightsVersion: this.weightsVersion,
        shard,
      }),
    );
    const x = tf.tensor4d(shards[0].images, shards[0].shape);
    let local: ModelOutputs;
    try {
      local = this.model.predict(x);
    } finally {
      x.dispose();
    }
    let remote: FromWorker[];
    try {
      remote = await Promise.all(replies);
    } catch (err) {
      tf.dispose([local.logits, local.explanation]);
      throw err;
    }
    const [logits, explanation] = tf.tidy(() => {
      const logits: tf.Tensor2D[] = [local.logits];
      const maps: tf.Tensor4D[] = [local.explanation];
      remote.forEach((m, i) => {
        if (m.type !== 'predicted')
          throw new Error(`internal: worker answered a prediction with '${m.type}'`);
        const [k, h, w] = shards[i + 1].shape;
        logits.push(tf.tensor2d(m.logits, [k, this.model.classes]));
        maps.push(tf.tensor4d(m.explanation, [k, h, w, 1]));
      });
      return [tf.concat(logits, 0), tf.concat(maps, 0)];
    });
    tf.dispose([local.logits, local.explanation]);
    return { logits: logits as tf.Tensor2D, explanation: explanation as tf.Tensor4D };
  }

  /** Call after changing the master's weights outside `step` (loading, another optimiser). */
  weightsChanged(): void {
    this.weightsVersion++;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.remotes.map((r) => r.worker.terminate()));
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('ParallelTrainer: used after close()');
  }

  private publishWeights(): void {
    if (this.published === this.weightsVersion || this.remotes.length === 0) return;
    readInto(variablesOf(allWeights(this.model)), this.weights);
    this.published = this.weightsVersion;
  }

  private sumGradients(local: tf.Tensor[], used: Remote[]): tf.Tensor[] {
    if (used.length === 0) return local;
    const out = tf.tidy(() => {
      let o = 0;
      return local.map((g) => {
        const parts = used.map((r) => tf.tensor(r.grads.subarray(o, o + g.size), g.shape, 'float32'));
        o += g.size;
        return tf.addN([g, ...parts]);
      });
    });
    tf.dispose(local);
    return out;
  }

  /** Batch-norm moving statistics := share-weighted mean of the replicas' (each moved with its own shard). */
  private mergeStatistics(shards: ShardData[], used: Remote[], n: number): void {
    const stats = variablesOf(nonTrainableWeights(this.model));
    if (used.length === 0 || stats.length === 0) return;
    const mine = new Float32Array(used[0].stats.length);
    readInto(stats, mine);
    const merged = new Float32Array(mine.length);
    const first = shards[0].shape[0] / n;
    for (let k = 0; k < merged.length; k++) {
      // A frozen part's statistics do not move in any replica: keep them bit for bit rather than let
      // Σ share·v round to a neighbouring float (the explainer phase promises an untouched classifier).
      if (used.every((r) => r.stats[k] === mine[k])) {
        merged[k] = mine[k];
        continue;
      }
      let sum = first * mine[k];
      used.forEach((r, i) => {
        sum += (shards[i + 1].shape[0] / n) * r.stats[k];
      });
      merged[k] = sum;
    }
    writeFrom(stats, merged);
  }

  private call(remote: Remote, msg: Extract<ToWorker, { id: number }>): Promise<FromWorker> {
    if (remote.failed) return Promise.reject(remote.failed);
    return new Promise((resolve, reject) => {
      remote.pending.set(msg.id, { resolve, reject });
      remote.worker.postMessage(msg);
    });
  }
}

async function startWorker(
  spec: ModelSpec,
  engine: EngineName,
  weights: SharedArrayBuffer,
  gradSize: number,
  statSize: number,
  microBatch: number,
): Promise<Remote> {
  const worker = spawnWorker();
  const remote: Remote = {
    worker,
    grads: new Float32Array(new SharedArrayBuffer(4 * gradSize)),
    stats: new Float32Array(new SharedArrayBuffer(4 * statSize)),
    pending: new Map(),
  };
  const fail = (err: Error) => {
    remote.failed = err;
    for (const p of remote.pending.values()) p.reject(err);
    remote.pending.clear();
  };
  worker.on('error', (err) => fail(new Error(`ParallelTrainer worker crashed: ${err.message}`)));
  worker.on('exit', (code) => fail(new Error(`ParallelTrainer worker exited (code ${code})`)));
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', (m: FromWorker) => {
      if (m.type === 'ready') resolve();
      else
        reject(
          new Error(`ParallelTrainer worker could not start: ${m.type === 'error' ? m.message : m.type}`),
        );
    });
    worker.once('error', reject);
  });
  const init: ToWorker = {
    type: 'init',
    spec,
    engine,
    weights,
    grads: remote.grads.buffer as SharedArrayBuffer,
    stats: remote.stats.buffer as SharedArrayBuffer,
    microBatch,
  };
  worker.postMessage(init);
  await ready;
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'ready') return;
    const id = m.id;
    const p = id === undefined ? undefined : remote.pending.get(id);
    if (m.type === 'error') {
      const err = new Error(`ParallelTrainer worker failed: ${m.message}`);
      if (p && id !== undefined) {
        remote.pending.delete(id);
        p.reject(err);
      } else fail(err);
      return;
    }
    if (p && id !== undefined) {
      remote.pending.delete(id);
      p.resolve(m);
    }
  });
  return remote;
}

export function defaultReplicas(engine: EngineName): number {
  return engine === 'wasm' || engine === 'cpu' ? Math.max(1, os.cpus().length) : 1;
}

/** Measured: a 224 px training pass of this model needs ~640 MB of wasm heap per image (4 images: 2.6 GB). */
export function defaultMicroBatch(engine: EngineName, inputSize: number): number {
  if (engine !== 'wasm') return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.floor(4 * (224 / inputSize) ** 2));
}

/**
 * Splits a batch into at most `parts` shards of near-equal size along the first axis (fewer when the batch is
 * smaller). Shards hold plain arrays: they cross to workers.
 */
export function splitBatch(
  batch: Pick<Batch, 'images' | 'masks'> & { labels?: tf.Tensor1D },
  parts: number,
): ShardData[] {
  const [n, h, w, c] = batch.images.shape;
  if (n < 1) throw new Error('ParallelTrainer: empty batch');
  if (batch.labels && (batch.labels.shape[0] !== n || batch.labels.dtype !== 'int32')) {
    throw new Error(
      `ParallelTrainer: labels must be [${n}] int32 class indices, got [${batch.labels.shape}] ${batch.labels.dtype}`,
    );
  }
  const images = batch.images.dataSync() as Float32Array;
  const labels = batch.labels ? (batch.labels.dataSync() as Int32Array) : new Int32Array(n);
  const mask = batch.masks ? (batch.masks.mask.dataSync() as Float32Array) : undefined;
  if (batch.masks && batch.masks.present.length !== n) {
    throw new Error(`ParallelTrainer: masks.present must have ${n} entries`);
  }
  const count = Math.min(parts, n);
  const out: ShardData[] = [];
  let start = 0;
  for (let s = 0; s < count; s++) {
    const k = Math.floor(n / count) + (s < n % count ? 1 : 0);
    const px = h * w;
    const shard: ShardData = {
      images: images.slice(start * px * c, (start + k) * px * c),
      shape: [k, h, w, c],
      labels: labels.slice(start, start + k),
    };
    if (mask && batch.masks) {
      shard.mask = mask.slice(start * px, (start + k) * px);
      shard.present = Uint8Array.from(batch.masks.present.slice(start, start + k), (b) => (b ? 1 : 0));
    }
    out.push(shard);
    start += k;
  }
  return out;
}
