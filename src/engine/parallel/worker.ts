/**
 * Entry point of one worker replica: its own tfjs engine and model, fed through the messages of protocol.ts.
 * Started by ParallelTrainer; not meant to be run directly.
 */
import { parentPort } from 'node:worker_threads';
import type { XwbModel } from '../../models/types.js';
import { initEngine } from '../select.js';
import { tf } from '../tf.js';
import type { FromWorker, InitMessage, ToWorker } from './protocol.js';
import {
  allWeights,
  buildFromSpec,
  nonTrainableWeights,
  readInto,
  shardGradients,
  shardTensors,
  variablesOf,
  writeFrom,
} from './replica.js';

if (!parentPort)
  throw new Error('src/engine/parallel/worker.ts runs only as a worker thread of ParallelTrainer');
const port = parentPort;

let state:
  | {
      model: XwbModel;
      weights: Float32Array;
      grads: Float32Array;
      stats: Float32Array;
      microBatch: number;
      version: number;
    }
  | undefined;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

async function init(msg: InitMessage): Promise<void> {
  const info = await initEngine({ prefer: msg.engine, logger: () => {} });
  const model = buildFromSpec(msg.spec);
  state = {
    model,
    weights: new Float32Array(msg.weights),
    grads: new Float32Array(msg.grads),
    stats: new Float32Array(msg.stats),
    microBatch: msg.microBatch,
    version: -1,
  };
  post({ type: 'ready', engine: info.backend, device: info.device });
}

function syncWeights(version: number): void {
  if (!state) throw new Error('worker used before init');
  if (state.version === version) return;
  writeFrom(variablesOf(allWeights(state.model)), state.weights);
  state.version = version;
}

function handle(msg: ToWorker): void {
  if (msg.type === 'close') {
    state?.model.dispose();
    port.close();
    return;
  }
  if (msg.type === 'init') {
    init(msg).catch((err: unknown) => post({ type: 'error', message: describe(err) }));
    return;
  }
  if (!state) throw new Error('worker used before init');
  syncWeights(msg.weightsVersion);
  if (msg.type === 'step') {
    const { grads, losses } = shardGradients(state.model, msg.shard, msg.share, msg.config, state.microBatch);
    readInto(grads, state.grads);
    tf.dispose(grads);
    readInto(variablesOf(nonTrainableWeights(state.model)), state.stats);
    // The replica's weights now hold its own statistics; the master's merged ones come with the next version.
    state.version = -1;
    post({ type: 'stepped', id: msg.id, losses });
    return;
  }
  const { logits, explanation } = tf.tidy(() => {
    const t = shardTensors(msg.shard);
    const out = state!.model.predict(t.images);
    return {
      // Copies with buffers of their own: they are transferred, and a backend may return its own storage.
      logits: (out.logits.dataSync() as Float32Array).slice(),
      explanation: (out.explanation.dataSync() as Float32Array).slice(),
    };
  });
  post({ type: 'predicted', id: msg.id, logits, explanation }, [
    logits.buffer as ArrayBuffer,
    explanation.buffer as ArrayBuffer,
  ]);
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

port.on('message', (msg: ToWorker) => {
  try {
    handle(msg);
  } catch (err) {
    post({ type: 'error', id: 'id' in msg ? msg.id : undefined, message: describe(err) });
  }
});
