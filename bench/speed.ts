/**
 * Training and inference speed of the explainer+classifier (base 32, batch 8, batch-norm variant) on the engine
 * in use, beside the PyTorch yardstick (/work/shared/reference/expclass_torch.py) measured in the same run.
 *
 * Run: `node --import tsx bench/speed.ts [--sizes 64,224] [--quick] [--replicas N] [--steps K] [--no-torch]`
 *   --replicas  data-parallel replicas (default: the number of cores; 1 = single thread, the "before")
 *   --quick     fewer steps, one PyTorch run, no batch-50 passes
 *   --no-posthoc  skip the per-image costs of the post-hoc passes
 * Also times, at 224 px, the explainer's own map and the forward / input-gradient passes that integrated
 * gradients, SmoothGrad and occlusion repeat. Prints a Markdown table for docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { defaultMicroBatch, ParallelTrainer, type StepConfig } from '../src/engine/parallel/index.js';
import { initEngine } from '../src/engine/select.js';
import { tf } from '../src/engine/tf.js';
import type { EngineName } from '../src/engine/types.js';
import { buildExpClass } from '../src/models/index.js';

const TORCH_SCRIPT = process.env.XWB_TORCH_SCRIPT ?? '/work/shared/reference/expclass_torch.py';
const PYTHON = process.env.XWB_PYTHON ?? '/usr/bin/python3';
const BATCH = 8;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const quick = process.argv.includes('--quick');
const sizes = (arg('sizes') ?? '64,224').split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 16 || n % 16 !== 0) {
    throw new Error(`--sizes: '${s}' is not a multiple of 16 (the classifier pools four times by 2)`);
  }
  return n;
});
const replicas = Number(arg('replicas') ?? os.cpus().length);
const withTorch = !process.argv.includes('--no-torch');

/** Median and range of images/s over the timed repetitions. */
interface Rate {
  median: number;
  min: number;
  max: number;
  n: number;
}

function rate(msPerBatch: number[], images: number): Rate {
  const r = msPerBatch.map((ms) => (images * 1000) / ms).sort((a, b) => a - b);
  return { median: r[Math.floor(r.length / 2)], min: r[0], max: r[r.length - 1], n: r.length };
}

async function timeRepeated(
  warmup: number,
  reps: number,
  run: () => Promise<void> | void,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await run();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return ms;
}

function stepsFor(size: number): number {
  const base = Number(arg('steps') ?? (size >= 160 ? 5 : 15));
  return quick ? Math.max(2, Math.ceil(base / 3)) : base;
}

async function measureXwb(size: number, engine: Awaited<ReturnType<typeof initEngine>>) {
  const model = buildExpClass({ inputSize: size, classes: 2, base: 32, batchNorm: true, seed: 1 });
  const trainer = await ParallelTrainer.create({ model, engine: engine.name, replicas });
  const optimizer = tf.train.momentum(0.01, 0.9);
  const images = tf.randomUniform([BATCH, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32');
  // Phase-3-like: both parts trained; α·CE + (1 − α)·L1 as in the yardstick (β = 1: no TV).
  const config: StepConfig = {
    parts: ['explainer', 'classifier'],
    loss: { alpha: 0.9, beta: 1 },
    training: true,
  };
  const steps = stepsFor(size);
  try {
    const trainStep = async () => {
      await trainer.step({ images, labels }, config, optimizer);
    };
    // Warm-up outside timeRepeated so the optimiser's slots exist before counting tensors.
    await trainStep();
    const before = tf.memory().numTensors;
    const trainMs = await timeRepeated(1, steps, trainStep);
    const leaked = tf.memory().numTensors - before;
    const inferMs = await timeRepeated(1, steps, async () => {
      const out = await trainer.predict(images);
      tf.dispose([out.logits, out.explanation]);
    });
    return { train: rate(trainMs, BATCH), infer: rate(inferMs, BATCH), leaked, model };
  } finally {
    await trainer.close();
    optimizer.dispose();
    tf.dispose([images, labels]);
  }
}

interface TorchResult {
  train: Rate;
  infer: Rate;
  engine: string;
}

function measureTorch(size: number): TorchResult | string {
  if (!fs.existsSync(TORCH_SCRIPT)) return `no yardstick at ${TORCH_SCRIPT} (set XWB_TORCH_SCRIPT)`;
  const runs = quick ? 1 : 2;
  const train: number[] = [];
  const infer: number[] = [];
  let engine = '';
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(
      PYTHON,
      [
        TORCH_SCRIPT,
        '--size',
        String(size),
        '--batch',
        String(BATCH),
        '--steps',
        String(stepsFor(size)),
        '--threads',
        String(os.cpus().length),
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) {
      return `PyTorch run failed (${PYTHON} ${TORCH_SCRIPT}): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}. Install it with: apt-get install -y python3-torch`;
    }
    const line = r.stdout.trim().split('\n').pop() ?? '';
    const j = JSON.parse(line) as { engine: string; train_images_per_s: number; infer_images_per_s: number };
    engine = j.engine;
    train.push(j.train_images_per_s);
    infer.push(j.infer_images_per_s);
  }
  // The script reports a rate per run; the spread is over runs. Convert back to ms/batch for `rate`.
  const toMs = (v: number[]) => v.map((ips) => (BATCH * 1000) / ips);
  return { train: rate(toMs(train), BATCH), infer: rate(toMs(infer), BATCH), engine };
}

/**
 * Per-image times of the passes the post-hoc methods repeat, on this thread's engine alone (one core), with a
 * fresh model. The input gradient is timed at most at defaultMicroBatch images: at 224 px a gradient pass holds
 * ~640 MB of wasm heap per image and the heap ends at 4 GB (beyond it the wasm module aborts), so integrated
 * gradients and SmoothGrad must run their 50 samples in chunks of ≤ 4 images at 224 px on wasm.
 */
async function postHocCosts(size: number, engine: EngineName): Promise<string[]> {
  const gradBatch = Math.min(8, defaultMicroBatch(engine, size));
  const model = buildExpClass({ inputSize: size, classes: 2, base: 32, batchNorm: true, seed: 1 });
  const explainer = model.parts.explainer;
  if (!explainer) throw new Error('internal: an expclass model without explainer');
  const lines: string[] = [];
  const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  try {
    for (const n of quick ? [8] : [8, 50]) {
      const x = tf.randomUniform([n, size, size, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      try {
        const reps = quick || n > 8 ? 2 : 4;
        const mapMs = await timeRepeated(1, reps, () => {
          tf.tidy(() => (explainer.predict(x) as tf.Tensor).dataSync());
        });
        const fwdMs = await timeRepeated(1, reps, () => {
          tf.tidy(() => model.predict(x).logits.dataSync());
        });
        // Gradient of the class-1 logit w.r.t. the input: the unit of integrated gradients and SmoothGrad.
        const g = n === 8 ? Math.min(n, gradBatch) : 0;
        const xg = g > 0 && g < n ? tf.slice(x, [0, 0, 0, 0], [g, size, size, 3]) : x;
        const gradMs =
          g === 0
            ? undefined
            : await timeRepeated(1, reps, () => {
                tf.tidy(() =>
                  tf
                    .grad((xi: tf.Tensor) =>
                      tf.sum(tf.slice(model.predict(xi as tf.Tensor4D).logits, [0, 1], [g, 1])),
                    )(xg)
                    .dataSync(),
                );
              });
        if (xg !== x) xg.dispose();
        const per = (ms: number[] | undefined, k = n) => (ms ? (median(ms) / k).toFixed(0) : '–');
        const grad = gradMs ? `${per(gradMs, g)}${g < n ? ` (batch ${g})` : ''}` : '–';
        lines.push(`| ${n} | ${per(mapMs)} | ${per(fwdMs)} | ${grad} |`);
      } finally {
        x.dispose();
      }
    }
  } finally {
    model.dispose();
  }
  return lines;
}

function fmt(r: Rate): string {
  return `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
}

async function main(): Promise<void> {
  const engine = await initEngine({ logger: () => {} });
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  console.log(
    `xwb speed benchmark — commit ${commit || '?'}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg()[0].toFixed(1)}`,
  );
  console.log(
    `engine: ${engine.name} (backend '${engine.backend}', ${engine.device}, tfjs ${engine.tfVersion}); replicas: ${replicas}`,
  );
  console.log(
    `model: explainer+classifier, base 32, batch-norm classifier, batch ${BATCH}; median img/s (min–max)`,
  );
  const posthocSize = sizes.includes(224) ? 224 : sizes[sizes.length - 1];
  if (!process.argv.includes('--no-posthoc')) {
    // First, on a fresh heap: the batch-50 forward pass needs a large contiguous block.
    console.log(
      `\nPer-image cost at ${posthocSize} px on one engine (ms/image, median): explainer map, full forward, gradient w.r.t. the input`,
    );
    console.log('| batch | explainer map | forward | input gradient |');
    console.log('|---|---|---|---|');
    for (const l of await postHocCosts(posthocSize, engine.name)) console.log(l);
    console.log(
      'Integrated gradients (50 steps) and SmoothGrad (50 samples) cost ≈ 50 input gradients per image; occlusion ≈ one forward per occluded window.',
    );
  }
  // Rows are printed as they are measured, so a crash late in the run loses nothing.
  console.log('\n| size (px) | pass | xwb img/s | PyTorch img/s | ratio |');
  console.log('|---|---|---|---|---|');
  for (const size of sizes) {
    const xwb = await measureXwb(size, engine);
    xwb.model.dispose();
    const torch = withTorch ? measureTorch(size) : 'skipped (--no-torch)';
    if (xwb.leaked > 0) {
      console.warn(
        `warning: ${xwb.leaked} tensors leaked over ${stepsFor(size)} training steps at ${size} px`,
      );
    }
    for (const kind of ['train', 'infer'] as const) {
      const t = typeof torch === 'string' ? undefined : torch[kind];
      const ratio = t ? (xwb[kind].median / t.median).toFixed(2) : '–';
      console.log(
        `| ${size} | ${kind === 'train' ? 'training' : 'inference'} | ${fmt(xwb[kind])} | ${t ? fmt(t) : '–'} | ${ratio} |`,
      );
    }
    console.log(`(PyTorch at ${size} px: ${typeof torch === 'string' ? torch : torch.engine})`);
  }
  console.log(
    `load average at the end: ${os.loadavg()[0].toFixed(1)} (other jobs on the machine skew every figure)`,
  );
}

await main();
