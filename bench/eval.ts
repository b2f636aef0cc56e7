/**
 * `xwb eval --methods … --metrics all` on a small trained model, timed per family: the shared-work
 * evaluation (src/evaluate/evaluate.ts) and, with `--before`, the previous one (test/evaluate/reference.ts:
 * each method and image alone, the randomisation re-run per chunk from a checkpoint reload) in the same run,
 * with the largest difference between their values.
 *
 * Run: `node --import tsx bench/eval.ts [--images 12] [--size 32] [--base 8] [--methods all] [--metrics all]
 * [--epochs 1,1,1] [--before]`. The model is trained here (explainer+classifier on a generated colour-cue
 * set, 3 phases of the given epochs) so the maps are those of a model that learned something.
 */
import { execSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { evaluateRun, resolveMethods, resolveMetrics, rowKey } from '../src/evaluate/index.js';
import { loadRunModel } from '../src/explain/run-model.js';
import { getMetric } from '../src/metrics/index.js';
import { listSplit } from '../src/training/data/load.js';
import { train } from '../src/training/trainer.js';
import { evalFixture, wasmEngine } from '../test/evaluate/fixture.js';
import { evaluateRun as referenceEvaluate } from '../test/evaluate/reference.js';

const { values: a } = parseArgs({
  options: {
    images: { type: 'string', default: '12' },
    size: { type: 'string', default: '32' },
    base: { type: 'string', default: '8' },
    methods: { type: 'string', default: 'all' },
    metrics: { type: 'string', default: 'all' },
    epochs: { type: 'string', default: '1,1,1' },
    before: { type: 'boolean', default: false },
    replicas: { type: 'string' },
  },
});
const nVal = Number(a.images);
const size = Number(a.size);
const base = Number(a.base);
const [ce, ee, je] = a.epochs!.split(',').map(Number);
const commit = execSync('git rev-parse --short HEAD').toString().trim();
const load = () => os.loadavg()[0].toFixed(1);
console.log(`commit ${commit}, load average ${load()} at the start`);

const engine = await wasmEngine();
// The generator's split keeps ~25 % for validation.
const f = await evalFixture(Math.ceil(nVal / 0.25) + 4, { width: Math.round(size * 1.5), height: size });
let t = performance.now();
const trained = await train(
  f.store,
  {
    datasetId: f.datasetId,
    model: { kind: 'expclass', inputSize: size, base },
    data: { batchSize: 8 },
    seed: 3,
    patience: 0,
    phases: {
      classifier: { epochs: ce, optimizer: 'adam', lr: 0.003 },
      explainer: { epochs: ee, optimizer: 'adam', lr: 0.003 },
      joint: { epochs: je, optimizer: 'adam', lr: 0.001 },
    },
  },
  { engine },
);
console.log(
  `trained run ${trained.runId} (base ${base}, ${size} px, epochs ${a.epochs}) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
);
const rm = await loadRunModel(f.store, trained.runId, a.replicas ? { replicas: Number(a.replicas) } : {});
const ids = listSplit(f.store, f.datasetId, 'val')
  .map((i) => i.id)
  .slice(0, nVal);
const methods = resolveMethods(a.methods, 'expclass');
const metrics = resolveMetrics(a.metrics);
console.log(
  `${ids.length} validation images, ${methods.length} methods, ${metrics.length} metrics, engine ${engine.name}`,
);

// Maps first, so both evaluations measure the same cached maps and the times are the metrics'.
t = performance.now();
for (const m of methods) {
  const { getOrCompute } = await import('../src/explain/store.js');
  await getOrCompute(f.store, rm, ids, m, {}, 'target');
}
const explainS = (performance.now() - t) / 1000;
console.log(`explain (all methods, once): ${explainS.toFixed(1)} s`);

const opts = { methods, metrics, imageIds: ids };
t = performance.now();
const now = await evaluateRun(f.store, rm, opts);
const nowS = (performance.now() - t) / 1000;
const families = new Map<string, number>();
for (const [name, s] of Object.entries(now.timings.metrics)) {
  const fam = name === 'model-parameter-randomisation' ? 'randomisation (MPRT)' : getMetric(name).family;
  families.set(fam, (families.get(fam) ?? 0) + s);
}
console.log(`\nshared-work evaluation: ${nowS.toFixed(1)} s (${now.values} values)`);
for (const [fam, s] of [...families].sort((x, y) => y[1] - x[1]))
  console.log(`  ${fam.padEnd(22)} ${s.toFixed(1)} s`);
const sc = now.timings.scores;
console.log(
  `  scores: ${sc.requested} asked, ${sc.computed} computed (${((1 - sc.computed / sc.requested) * 100).toFixed(0)} % known), ${sc.calls} model calls`,
);

if (a.before) {
  t = performance.now();
  const old = await referenceEvaluate(f.store, rm, opts);
  const oldS = (performance.now() - t) / 1000;
  let worst = 0;
  for (const m of methods)
    for (const q of metrics) {
      const x = old.perImage.get(rowKey(m, q.name))!;
      const y = now.perImage.get(rowKey(m, q.name))!;
      x.forEach((v, i) => {
        if (!Number.isNaN(v)) worst = Math.max(worst, Math.abs(v - y[i]) / Math.max(1, Math.abs(v)));
      });
    }
  console.log(
    `\nbefore (each method and image alone): ${oldS.toFixed(1)} s; before ÷ after ${(oldS / nowS).toFixed(2)}; largest relative difference ${worst.toExponential(1)}`,
  );
}
console.log(`\nload average ${load()} at the end`);
rm.dispose();
f.done();
process.exit(0);
