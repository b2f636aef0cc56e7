/**
 * Measures every finished run of results.json (see train.ts) and stores the numbers under "eval":
 * - Rio-Torto runs: the run's in-model explainer and its gradient (expclass) or the nine post-hoc methods (a
 *   classifier alone, or an expclass run that ended after its classifier phase) on the
 *   positive validation images, explaining the "triangle" class: relevance mass in the triangle's box, ROC-AUC of
 *   map vs box, pointing game, IoU at the paper's absolute 0.75 and the fraction of pixels ≥ 0.75 — each twice, on the map as it is
 *   (the paper's convention, meaningful for the explainer's [0, 1] output) and divided by its max |value| (the
 *   only way a gradient's arbitrary scale can meet a 0.75 threshold). Maps are taken in absolute value: the
 *   explainer's are non-negative anyway, and signed post-hoc maps would otherwise cancel inside the box.
 *   Plus the validation accuracy of the explained model recomputed from its predictions, and the share of
 *   images it calls "triangle" (1.0 = the majority-class collapse the paper's 62% corresponds to).
 * - Rieger runs: diffusion (eq. 7, ‖R_c1 − R_c2‖_F of the two top classes) over the validation images for the
 *   gradient, LRP-ε+ and deep Taylor maps, raw (as in the paper) and max-abs normalised (comparable across
 *   models whose maps have different scales), plus recomputed validation accuracy.
 * Explanations are cached in the store, so a re-run only measures what is missing; finished entries are skipped.
 *
 * Run: node --import tsx bench/paper/evaluate.ts [--only key,key]
 */
import { parseArgs } from 'node:util';
import { initEngine } from '../../src/engine/select.js';
import { type EvaluateRow, evaluateRun } from '../../src/evaluate/index.js';
import { loadRunModel, type RunModel } from '../../src/explain/run-model.js';
import { getMetric } from '../../src/metrics/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { listSplit } from '../../src/training/data/load.js';
import { DB, type Json, POST_HOC, RIEGER_METHODS, readResults, saveResult } from './common.js';
import { repairL1Configs } from './workaround.js';

/** Positive validation images measured per Rio-Torto run (the set has 154). */
const RT_LIMIT = Number(process.env.XWB_PAPER_LIMIT ?? 154);
if (!Number.isInteger(RT_LIMIT) || RT_LIMIT < 1)
  throw new Error(`XWB_PAPER_LIMIT must be a whole number ≥ 1, got "${process.env.XWB_PAPER_LIMIT}"`);
/** The nine post-hoc methods cost up to ~30 model passes per image each: a subset of the positives. */
const POST_HOC_LIMIT = Math.min(RT_LIMIT, 60);

type Variant = 'raw' | 'maxabs';
const LOCALISATION = [
  'relevance-mass-accuracy',
  'roc-auc',
  'pointing-game',
  'threshold-iou',
  'fraction-explained',
];

function localisationParams(v: Variant) {
  const normalise = v === 'raw' ? 'none' : 'max-abs';
  return {
    'relevance-mass-accuracy': { abs: true },
    'roc-auc': { abs: true },
    'pointing-game': { abs: true },
    'threshold-iou': { mode: 'absolute', threshold: 0.75, normalise, abs: true },
    'fraction-explained': { threshold: 0.75, normalise, abs: true },
  };
}

function rowsJson(rows: readonly EvaluateRow[]): Json {
  return rows.map((r) => ({
    method: r.method,
    metric: r.metric,
    mean: Number.isFinite(r.mean) ? r.mean : null,
    ci95: [Number.isFinite(r.ci95[0]) ? r.ci95[0] : null, Number.isFinite(r.ci95[1]) ? r.ci95[1] : null],
    n: r.n,
    nanCount: r.nanCount,
  }));
}

/** Accuracy of the explained model on the images, and the share it assigns to `classIndex`. */
async function accuracy(store: Store, rm: RunModel, split: 'val'): Promise<Record<string, Json>> {
  const images = listSplit(store, rm.datasetId, split);
  let correct = 0;
  const predicted = new Array<number>(rm.classes.length).fill(0);
  for (let i = 0; i < images.length; i += 32) {
    const chunk = images.slice(i, i + 32);
    const inputs = await rm.inputs(chunk);
    const probs = await rm.probabilities(inputs.map((x) => x.pixels));
    probs.forEach((p, k) => {
      let best = 0;
      for (let c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
      predicted[best]++;
      if (rm.classes[best] === chunk[k].label) correct++;
    });
  }
  return {
    images: images.length,
    accuracy: correct / images.length,
    predictedShare: Object.fromEntries(rm.classes.map((c, k) => [c, predicted[k] / images.length])),
    checkpoint: `${rm.checkpoint.phase}/${rm.checkpoint.epoch}`,
  };
}

async function evalRioTorto(store: Store, rm: RunModel, kind: string): Promise<Json> {
  const triangle = rm.classes.indexOf('triangle');
  if (triangle < 0) throw new Error(`run ${rm.runId}: no "triangle" class in [${rm.classes.join(', ')}]`);
  // A classifier alone, or an explainer+classifier run that ended after its classifier phase (its explainer is
  // untrained; the classifier saw white maps): the post-hoc methods explain it.
  const inModel = kind === 'expclass' && !rm.model.explainerUntrained;
  const positives = listSplit(store, rm.datasetId, 'val')
    .filter((i) => i.label === 'triangle')
    .slice(0, inModel ? RT_LIMIT : POST_HOC_LIMIT);
  const methods = inModel ? ['explainer', 'gradient'] : [...POST_HOC];
  const out: Record<string, Json> = { images: positives.length, methods };
  for (const variant of ['raw', 'maxabs'] as const) {
    const t0 = Date.now();
    const result = await evaluateRun(store, rm, {
      methods,
      metrics: LOCALISATION.map(getMetric),
      imageIds: positives.map((i) => i.id),
      classChoice: triangle,
      metricParams: localisationParams(variant),
      onProgress: (p) => {
        if (p.done === p.total) console.log(`  ${variant} ${p.phase} ${p.method}: ${p.total} images`);
      },
    });
    out[variant] = rowsJson(result.rows);
    out[`${variant}Seconds`] = (Date.now() - t0) / 1000;
  }
  return out;
}

async function evalRieger(store: Store, rm: RunModel): Promise<Json> {
  const images = listSplit(store, rm.datasetId, 'val');
  const out: Record<string, Json> = { images: images.length, methods: [...RIEGER_METHODS] };
  for (const variant of ['raw', 'maxabs'] as const) {
    const t0 = Date.now();
    const result = await evaluateRun(store, rm, {
      methods: [...RIEGER_METHODS],
      metrics: [getMetric('diffusion')],
      imageIds: images.map((i) => i.id),
      classChoice: 'predicted',
      metricParams: { diffusion: { normalise: variant === 'raw' ? 'none' : 'max-abs', abs: false } },
    });
    out[variant] = rowsJson(result.rows);
    out[`${variant}Seconds`] = (Date.now() - t0) / 1000;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const only = values.only?.split(',').map((s) => s.trim());
  const engine = await initEngine({ prefer: 'wasm' });
  console.log(`engine: ${engine.name}`);
  const results = readResults();
  const runs = (results.runs ?? {}) as Record<string, { runId: number; dataset: string; status: string }>;
  const done = results.eval ?? {};
  const repaired = repairL1Configs(DB);
  if (repaired.length > 0)
    console.log(`repaired the stored config of run(s) ${repaired.join(', ')} (see workaround.ts)`);
  const store = openStore(DB);
  try {
    for (const [key, run] of Object.entries(runs)) {
      if ((only && !only.includes(key)) || key in done || run.status !== 'done') continue;
      console.log(`${key}: run ${run.runId}`);
      const t0 = Date.now();
      const rm = await loadRunModel(store, run.runId);
      try {
        const acc = await accuracy(store, rm, 'val');
        const measured =
          run.dataset === 'rieger-shapes'
            ? await evalRieger(store, rm)
            : await evalRioTorto(store, rm, rm.config.model.kind);
        saveResult('eval', key, {
          runId: run.runId,
          engine: engine.name,
          val: acc,
          measured,
          seconds: (Date.now() - t0) / 1000,
        });
        console.log(
          `${key}: val acc ${(acc.accuracy as number).toFixed(3)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
        );
      } finally {
        rm.dispose();
      }
    }
  } finally {
    store.close();
  }
}

await main();
