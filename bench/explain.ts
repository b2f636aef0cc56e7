/**
 * Seconds per image of the many-pass methods (integrated gradients with 50 steps, SmoothGrad with 50 samples,
 * occlusion with its defaults) on an explainer+classifier (base 32, BN), measured in one run for:
 *   before — the previous implementation's passes: gradients through XwbModel.predict on this thread;
 *   graph  — this thread, gradients through the model graph (no filter gradients);
 *   pool   — a PassPool over `--replicas` threads (default: one per core), as RunModel.explain uses.
 * Also prints the largest difference of each map from `before`, relative to the map's scale.
 *
 * Run: `node --import tsx bench/explain.ts [--size 64] [--methods ig,sg,occ] [--reps 2] [--no-before] [--no-torch]`
 * (the PyTorch yardstick, bench/explain_torch.py, runs after xwb in the same invocation unless --no-torch)
 * At 224 px the `before` column of IG-50/SmoothGrad-50 takes minutes: use `--steps 8` to time fewer passes
 * (the cost is linear in the passes) or `--no-before`.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { defaultReplicas } from '../src/engine/parallel/index.js';
import { initEngine } from '../src/engine/select.js';
import { tf } from '../src/engine/tf.js';
import { getMethod } from '../src/explain/index.js';
import { type Passes, PassPool } from '../src/explain/passes/index.js';
import { backwardPassLimit } from '../src/explain/run.js';
import { inputGradient, logitsOf, oneHotRows } from '../src/explain/tensor.js';
import type { ExplainContext, Params } from '../src/explain/types.js';
import { buildExpClass } from '../src/models/index.js';
import type { XwbModel } from '../src/models/types.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const size = Number(arg('size') ?? 64);
const reps = Number(arg('reps') ?? 2);
const steps = Number(arg('steps') ?? 50);
const withBefore = !process.argv.includes('--no-before');
const wanted = new Set((arg('methods') ?? 'ig,sg,occ').split(','));

/** The passes as the methods ran them before this change (same as test/explain/passes.test.ts's reference). */
class PreviousPasses implements Passes {
  readonly replicas = 1;
  constructor(readonly model: XwbModel) {}
  async inputGradients(x: tf.Tensor4D, classes: readonly number[]): Promise<tf.Tensor4D> {
    const limit = backwardPassLimit(this.model.inputSize);
    if (x.shape[0] > limit) throw new Error(`bench: ${x.shape[0]} images exceed one pass's bound ${limit}`);
    return tf.tidy(() => inputGradient(this.model, x, oneHotRows(classes, this.model.classes)));
  }
  async logits(x: tf.Tensor4D): Promise<tf.Tensor2D> {
    return tf.tidy(() => logitsOf(this.model, x));
  }
}

const CASES: { key: string; label: string; method: string; params: Partial<Params> }[] = [
  { key: 'ig', label: `IG-${steps}`, method: 'integrated_gradients', params: { steps } },
  { key: 'sg', label: `SmoothGrad-${steps}`, method: 'smoothgrad', params: { samples: steps } },
  { key: 'occ', label: 'occlusion (8 px window, stride 4)', method: 'occlusion', params: {} },
];

interface Timed {
  seconds: number;
  /** CPU seconds of the whole process, worker threads included: the work done, whatever the load. */
  cpu: number;
  firstTick: number;
  maps: Float32Array;
}

async function timed(model: XwbModel, x: tf.Tensor4D, c: (typeof CASES)[number], passes?: Passes) {
  const runs: Timed[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let firstTick = Number.NaN;
    const ctx: ExplainContext = {
      passes,
      // The first coarse map (IG, SmoothGrad) or, for occlusion, the first finished chunk.
      onPartial: () => {
        if (Number.isNaN(firstTick)) firstTick = (performance.now() - t0) / 1000;
      },
      onProgress: () => {
        if (Number.isNaN(firstTick) && c.method === 'occlusion') firstTick = (performance.now() - t0) / 1000;
      },
    };
    const out = await getMethod(c.method).explain(model, x, 1, c.params, ctx);
    const c1 = process.cpuUsage(c0);
    runs.push({
      seconds: (performance.now() - t0) / 1000,
      cpu: (c1.user + c1.system) / 1e6,
      firstTick,
      maps: out.maps,
    });
  }
  runs.sort((a, b) => a.seconds - b.seconds);
  return runs[Math.floor(runs.length / 2)];
}

function relDiff(got: Float32Array, want: Float32Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return scale > 0 ? err / scale : err;
}

async function main(): Promise<void> {
  const engine = await initEngine({ logger: () => {} });
  const replicas = Number(arg('replicas') ?? defaultReplicas(engine.name));
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
  console.log(
    `xwb explain benchmark — commit ${commit || '?'}, ${new Date().toISOString()}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`,
  );
  console.log(
    `engine ${engine.name}; expclass base 32 (BN), ${size} px, one image, median of ${reps}; pool of ${replicas}`,
  );
  const model = buildExpClass({ inputSize: size, classes: 2, base: 32, batchNorm: true, seed: 1 });
  const x = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const t0 = performance.now();
  const pool = await PassPool.create({
    model,
    engine: engine.name,
    replicas,
    limit: backwardPassLimit(size),
  });
  const poolSeconds = new Map<string, number>();
  console.log(`pool start: ${((performance.now() - t0) / 1000).toFixed(2)} s (once per loaded model)`);
  try {
    // Warm-up: the first pass of each engine compiles and allocates.
    await getMethod('integrated_gradients').explain(model, x, 1, { steps: 3 }, { passes: pool });
    console.log(
      '\n| method | before s (CPU s) | graph, 1 thread s (CPU s) | pool s (CPU s) | before ÷ pool (wall) | first picture, pool s | max rel. diff vs before |',
    );
    console.log('|---|---|---|---|---|---|---|');
    for (const c of CASES.filter((k) => wanted.has(k.key))) {
      const before = withBefore ? await timed(model, x, c, new PreviousPasses(model)) : undefined;
      const graph = await timed(model, x, c);
      const pooled = await timed(model, x, c, pool);
      const ref = before?.maps ?? graph.maps;
      const diff = Math.max(relDiff(graph.maps, ref), relDiff(pooled.maps, ref));
      poolSeconds.set(c.key, pooled.seconds);
      const f = (t?: Timed) => (t ? `${t.seconds.toFixed(2)} (${t.cpu.toFixed(2)})` : '–');
      console.log(
        `| ${c.label} | ${f(before)} | ${f(graph)} | ${f(pooled)} | ${before ? (before.seconds / pooled.seconds).toFixed(2) : '–'} | ${pooled.firstTick.toFixed(2)} | ${diff.toExponential(1)}${before ? '' : ' (vs graph)'} |`,
      );
    }
  } finally {
    await pool.close();
    x.dispose();
    model.dispose();
  }
  if (!process.argv.includes('--no-torch')) torchYardstick(poolSeconds);
  console.log(`load average at the end: ${os.loadavg()[0].toFixed(1)}`);
}

/** The same methods on the PyTorch yardstick (bench/explain_torch.py), right after, and xwb's ratio to it. */
function torchYardstick(xwb: ReadonlyMap<string, number>): void {
  const python = process.env.XWB_PYTHON ?? '/usr/bin/python3';
  const script = new URL('./explain_torch.py', import.meta.url).pathname;
  const methods = [...xwb.keys()].join(',');
  const r = spawnSync(
    python,
    [script, '--size', String(size), '--steps', String(steps), '--reps', String(reps), '--methods', methods],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    console.log(
      `PyTorch yardstick not run: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`,
    );
    return;
  }
  const t = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
  console.log(`\nPyTorch (${t.engine}, ${t.threads} threads, same run): per image`);
  for (const [key, seconds] of xwb) {
    const theirs = Number(t[`${key}_s`]);
    console.log(
      `  ${key}: xwb pool ${seconds.toFixed(2)} s, PyTorch ${theirs.toFixed(2)} s, xwb ÷ PyTorch ${(seconds / theirs).toFixed(1)}×`,
    );
  }
}

await main();
