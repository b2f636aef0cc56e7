/**
 * One replica of a PassPool: its own engine, a copy of the model from the pool's weights, and the same pass
 * code as LocalPasses (so a split batch gives the values one thread would). Not meant to be run directly.
 */
import { parentPort } from 'node:worker_threads';
import { allWeights, buildFromSpec, variablesOf, writeFrom } from '../../engine/parallel/replica.js';
import { initEngine } from '../../engine/select.js';
import { tf } from '../../engine/tf.js';
import { LocalPasses } from './local.js';
import type { FromPassWorker, ToPassWorker } from './protocol.js';

if (!parentPort) throw new Error('src/explain/passes/worker.ts runs only as a worker thread of PassPool');
const port = parentPort;
let passes: LocalPasses | undefined;
let shared: Float32Array | undefined;

function post(msg: FromPassWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

async function handle(msg: ToPassWorker): Promise<void> {
  if (msg.type === 'close') {
    passes?.dispose();
    passes?.model.dispose();
    port.close();
    return;
  }
  if (msg.type === 'init') {
    await initEngine({ prefer: msg.engine, logger: () => {} });
    const model = buildFromSpec(msg.spec);
    shared = new Float32Array(msg.weights);
    writeFrom(variablesOf(allWeights(model)), shared);
    passes = new LocalPasses(model, msg.limit);
    post({ type: 'ready' });
    return;
  }
  if (!passes || !shared) throw new Error('pass worker used before init');
  if (msg.type === 'refresh') {
    writeFrom(variablesOf(allWeights(passes.model)), shared);
    // The graph folded the old weights (batch norm into convolutions): rebuild it at the next gradient.
    passes.dispose();
    post({ type: 'done', id: msg.id, values: new Float32Array(0) });
    return;
  }
  const x = tf.tensor4d(msg.images, msg.shape);
  try {
    const out =
      msg.type === 'gradients'
        ? await passes.inputGradients(x, Array.from(msg.classes))
        : await passes.logits(x);
    // A copy with a buffer of its own: it is transferred, and a backend may hand out its own storage.
    const values = (out.dataSync() as Float32Array).slice();
    out.dispose();
    post({ type: 'done', id: msg.id, values }, [values.buffer as ArrayBuffer]);
  } finally {
    x.dispose();
  }
}

port.on('message', (msg: ToPassWorker) => {
  handle(msg).catch((err: unknown) =>
    post({
      type: 'error',
      id: 'id' in msg ? msg.id : undefined,
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    }),
  );
});
