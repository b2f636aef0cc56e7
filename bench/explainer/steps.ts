/**
 * The first steps of the explainer (or joint) phase, one line per step: what a collapse looks like from the
 * inside, in a minute instead of a 20-minute run. Starts from a classifier-phase run's checkpoint (`--from RUN`),
 * a fresh explainer built from that run's model options, and the plain single-engine step (the whole batch in one
 * pass, so batch norm sees the batch the config names).
 *
 *   node --import tsx bench/explainer/steps.ts --db STORE --from RUN [--phase explainer|joint] [--steps 60]
 *       [--lr 1e-3] [--alpha 0.667] [--every 4]
 *
 * Prints per step: cross-entropy, L1 (mean map), the batch's accuracy, the mean of the map, the share of the
 * map's mass that lies on the 10 % brightest pixels of each image (1 = concentrated, 0.1 = flat) and the mean
 * correct-class probability.
 */
import { parseArgs } from 'node:util';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { buildExpClass } from '../../src/models/index.js';
import { openStore } from '../../src/store/index.js';
import { loadCheckpoint } from '../../src/training/checkpoint.js';
import {
  activePhases,
  modelOptions,
  type PhaseName,
  resolveTrainConfig,
  type TrainConfigInput,
} from '../../src/training/config.js';
import { batches } from '../../src/training/data/batches.js';
import { loadSplit } from '../../src/training/data/load.js';
import { PhaseOptimizer } from '../../src/training/optimizers.js';
import { phaseBehaviour } from '../../src/training/phases.js';
import { handOn } from '../../src/training/resume.js';
import { emptyTotals, type StepContext, trainStep } from '../../src/training/step.js';
import { meanPixel } from '../../src/training/trainer.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    from: { type: 'string' },
    phase: { type: 'string', default: 'explainer' },
    steps: { type: 'string', default: '60' },
    lr: { type: 'string', default: '1e-3' },
    alpha: { type: 'string', default: String(1 / 1.5) },
    every: { type: 'string', default: '4' },
    'explainer-bn': { type: 'boolean' },
    base: { type: 'string' },
  },
});
if (!values.db || !values.from) {
  console.error(
    'usage: steps.ts --db STORE --from RUN [--phase explainer|joint] [--steps N] [--lr X] [--alpha A]',
  );
  process.exit(2);
}

/** Share of each map's mass on its 10 % brightest pixels, averaged over the batch. */
function topShare(maps: Float32Array, n: number, pixels: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const m = Array.from(maps.subarray(i * pixels, (i + 1) * pixels)).sort((a, b) => b - a);
    const all = m.reduce((s, v) => s + v, 0);
    const top = m.slice(0, Math.ceil(pixels / 10)).reduce((s, v) => s + v, 0);
    total += all > 0 ? top / all : 0;
  }
  return total / n;
}

async function main() {
  const info = await initEngine({});
  const store = openStore(values.db!);
  const runId = Number(values.from);
  const run = store.runs.get(runId);
  if (!run) throw new Error(`no run ${runId} in ${values.db}`);
  const config = resolveTrainConfig(run.config as unknown as TrainConfigInput);
  const checkpoint = handOn(
    activePhases(config),
    activePhases(config).length - 1,
    store.runs.checkpoints(runId),
  );
  if (!checkpoint) throw new Error(`run ${runId} has no checkpoint`);
  const train = await loadSplit(store, config.datasetId, 'train', {
    size: config.model.inputSize,
    resize: config.data.resize,
    maskSource: config.data.maskSource,
  });
  const loaded = await loadCheckpoint(checkpoint);
  // A fresh explainer (the source's is untrained when it ended after the classifier phase) with its classifier.
  const fresh = buildExpClass({
    ...modelOptions(config, train.classes.length, meanPixel(train)),
    ...(values['explainer-bn'] ? { explainerBatchNorm: true } : {}),
  });
  const model = fresh;
  const from = loaded.variables.classifier;
  model.variables.classifier.forEach((v, i) => {
    v.assign(from[i]);
  });
  loaded.dispose();
  const phase = values.phase as PhaseName;
  const behaviour = phaseBehaviour(model, phase, false);
  const alpha = Number(values.alpha);
  const ctx: StepContext = {
    model,
    behaviour,
    objective: { alpha, beta: 1, gamma: 0, blockDiagonal: 0, delta: 0 },
  };
  const optimizer = new PhaseOptimizer(
    { optimizer: 'adam', lr: Number(values.lr), weightDecay: 0 },
    behaviour.variables(model),
  );
  console.log(
    `engine ${info.name}; run ${runId} base ${config.model.base}; ${phase} lr ${values.lr} alpha ${alpha.toFixed(3)}`,
  );
  console.log(
    `explainer batch norm ${fresh.spec.kind === 'expclass' && fresh.spec.options.explainerBatchNorm}`,
  );
  console.log('step   ce      l1      acc   map    top10%  p(correct)');
  const steps = Number(values.steps);
  const every = Number(values.every);
  const s = config.model.inputSize;
  let step = 0;
  for (let epoch = 1; step < steps; epoch++) {
    for (const batch of batches(train, {
      batchSize: config.data.batchSize,
      shuffle: true,
      seed: 'steps',
      epoch,
    })) {
      if (step >= steps) break;
      const totals = emptyTotals();
      trainStep(ctx, optimizer, batch, totals);
      step++;
      if (step % every === 0 || step === 1) {
        const [maps, p] = tf.tidy(() => {
          const out = model.predict(batch.x, behaviour.train);
          const prob = tf.sum(tf.mul(tf.oneHot(batch.y, model.classes), tf.softmax(out.logits)), 1);
          return [out.explanation.dataSync() as Float32Array, tf.mean(prob).dataSync()[0]];
        });
        const n = batch.indices.length;
        console.log(
          `${String(step).padEnd(5)}  ${(totals.ce / n).toFixed(4)}  ${(totals.l1 / n).toFixed(4)}  ${(totals.correct / n).toFixed(2)}  ${(totals.explanation / n).toFixed(4)}  ${topShare(maps, n, s * s).toFixed(3)}   ${p.toFixed(3)}`,
        );
      }
      batch.dispose();
    }
  }
  model.dispose();
  store.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
