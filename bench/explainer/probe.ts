/**
 * How well a run's in-model explanation localises, beside the plain input gradient of the same run: the numbers of
 * the design table in docs/paper-reproduction.md ("Why the default is what it is").
 *
 *   node --import tsx bench/explainer/probe.ts --db STORE RUN[@PHASE] [RUN…] [--split val] [--figure out.png] [--json]
 *
 * Per run, on the split's images: accuracy; on positive images (those with a box of the dataset's target class)
 * relevance mass in the box, ROC-AUC of map vs box and the pointing game for the explainer's map and for the
 * gradient; the mean map on positive and on negative images; and how much the map varies ACROSS images (the
 * mean over pixels of the per-pixel standard deviation over images): a map that is the same lattice on every
 * image scores near 0 there whatever its contrast. The figure shows image, explainer map and gradient for the
 * first positive and negative images, one row per run.
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { SplitName } from '../../src/data/types.js';
import { initEngine } from '../../src/engine/select.js';
import { classBoxes, groundTruth } from '../../src/evaluate/groundtruth.js';
import { loadRunModel } from '../../src/explain/run-model.js';
import { getMetric } from '../../src/metrics/registry.js';
import { openStore } from '../../src/store/index.js';
import type { PhaseName } from '../../src/training/config.js';
import { listSplit } from '../../src/training/data/load.js';
import { buildMask } from '../../src/training/data/masks.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string' },
    split: { type: 'string', default: 'val' },
    figure: { type: 'string' },
    json: { type: 'boolean' },
    rows: { type: 'string', default: '3' },
  },
});
if (!values.db || positionals.length === 0) {
  console.error('usage: probe.ts --db STORE RUN[@PHASE] [RUN…] [--split val] [--figure out.png] [--json]');
  process.exit(2);
}

interface MapStats {
  mass: number;
  auc: number;
  pointing: number;
}

export interface ProbeResult {
  run: number;
  engine: string;
  images: number;
  accuracy: number;
  explainer: MapStats;
  gradient: MapStats;
  /** Against the shape's own mask (the generator's class mask) instead of its box: a crisp map of a star or a
   * triangle leaves the box's corners dark, which the box-based AUC counts against it. */
  explainerShape: MapStats | null;
  gradientShape: MapStats | null;
  meanPositive: number;
  meanNegative: number;
  acrossImageStd: number;
  shareAboveHalf: number;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

async function localisation(
  maps: readonly Float32Array[],
  masks: readonly Uint8Array[],
  size: number,
): Promise<MapStats> {
  const mass: number[] = [];
  const auc: number[] = [];
  const pointing: number[] = [];
  for (let i = 0; i < maps.length; i++) {
    const input = {
      map: { data: maps[i], width: size, height: size },
      mask: { data: masks[i], width: size, height: size },
    };
    const m = (await getMetric('relevance-mass-accuracy').run(input, { abs: true })).value;
    const a = (await getMetric('roc-auc').run(input)).value;
    const p = (await getMetric('pointing-game').run(input)).value;
    if (Number.isFinite(m)) mass.push(m);
    if (Number.isFinite(a)) auc.push(a);
    if (Number.isFinite(p)) pointing.push(p);
  }
  return { mass: mean(mass), auc: mean(auc), pointing: mean(pointing) };
}

/** Grey-free viridis-ish ramp (dark blue → yellow) for a map in [0, max]. */
function ramp(v: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, v));
  return [
    Math.round(255 * Math.min(1, 1.6 * t * t)),
    Math.round(255 * t),
    Math.round(255 * (0.35 + 0.3 * (1 - t)) * (1 - t) + 40 * t),
  ];
}

function tile(
  out: Uint8Array,
  width: number,
  x0: number,
  y0: number,
  size: number,
  px: (i: number) => [number, number, number],
) {
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const [r, g, b] = px(y * size + x);
      const o = ((y0 + y) * width + x0 + x) * 3;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
}

async function main() {
  const info = await initEngine({});
  const store = openStore(values.db!);
  const results: ProbeResult[] = [];
  const figureRows: { image: Float32Array; exp: Float32Array; grad: Float32Array }[][] = [];
  try {
    for (const arg of positionals) {
      // RUN or RUN@PHASE: the best checkpoint of that phase, to see what a phase left behind.
      const [runText, phase] = arg.split('@');
      const runId = Number(runText);
      const rm = await loadRunModel(store, runId, { phase: phase as PhaseName | undefined });
      try {
        const dataset = store.datasets.getById(rm.datasetId)!;
        const target = dataset.targetClass ?? rm.classes[rm.classes.length - 1];
        const targetIndex = rm.classes.indexOf(target);
        const images = listSplit(store, rm.datasetId, values.split as SplitName);
        const inputs = await rm.inputs(images);
        const pixels = inputs.map((i) => i.pixels);
        const s = rm.inputSize;
        const probs = await rm.probabilities(pixels);
        const labels = images.map((im) =>
          classBoxes(store, im, target).length > 0 ? targetIndex : 1 - targetIndex,
        );
        const hits = probs.map((p, i) => {
          let best = 0;
          for (let c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
          return best === labels[i] ? 1 : 0;
        });
        const classes = images.map(() => targetIndex);
        // A classifier phase alone gated with the white map it trained on: its "explainer" is that uniform map,
        // and its gradient is the post-hoc baseline of the classifier alone (the paper's comparison).
        const exp = rm.model.explainerUntrained
          ? pixels.map(() => new Float32Array(s * s).fill(1))
          : (await rm.explain('explainer', pixels, classes, {})).maps;
        const grad = (await rm.explain('gradient', pixels, classes, {})).maps;
        const pos: number[] = [];
        const neg: number[] = [];
        for (let i = 0; i < images.length; i++) (labels[i] === targetIndex ? pos : neg).push(i);
        const masks = pos.map(
          (i) => groundTruth(classBoxes(store, images[i], target), inputs[i].placement).mask.data,
        );
        const shapeMasks: Uint8Array[] = [];
        for (const i of pos) {
          const m = await buildMask(store, dataset, images[i], inputs[i].placement, {
            source: 'gt-mask',
            highlightMasks: false,
          });
          if (m) shapeMasks.push(m);
        }
        const haveShapes = shapeMasks.length === pos.length && pos.length > 0;
        const mapMean = (m: Float32Array) => m.reduce((a, v) => a + v, 0) / m.length;
        // Per-pixel std over images, averaged over pixels.
        let across = 0;
        for (let p = 0; p < s * s; p++) {
          let m1 = 0;
          let m2 = 0;
          for (const m of exp) {
            m1 += m[p];
            m2 += m[p] * m[p];
          }
          m1 /= exp.length;
          across += Math.sqrt(Math.max(0, m2 / exp.length - m1 * m1));
        }
        let above = 0;
        for (const m of exp) for (const v of m) if (v >= 0.5) above++;
        const r: ProbeResult = {
          run: runId,
          engine: info.name,
          images: images.length,
          accuracy: mean(hits),
          explainer: await localisation(
            pos.map((i) => exp[i]),
            masks,
            s,
          ),
          gradient: await localisation(
            pos.map((i) => grad[i]),
            masks,
            s,
          ),
          explainerShape: haveShapes
            ? await localisation(
                pos.map((i) => exp[i]),
                shapeMasks,
                s,
              )
            : null,
          gradientShape: haveShapes
            ? await localisation(
                pos.map((i) => grad[i]),
                shapeMasks,
                s,
              )
            : null,
          meanPositive: mean(pos.map((i) => mapMean(exp[i]))),
          meanNegative: mean(neg.map((i) => mapMean(exp[i]))),
          acrossImageStd: across / (s * s),
          shareAboveHalf: above / (exp.length * s * s),
        };
        results.push(r);
        const rows = Number(values.rows);
        const pick = [...pos.slice(0, rows), ...neg.slice(0, 1)];
        figureRows.push(pick.map((i) => ({ image: pixels[i], exp: exp[i], grad: grad[i] })));
      } finally {
        rm.dispose();
      }
    }
  } finally {
    store.close();
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log(
      'run  acc    | explainer mass  auc   point | gradient mass  auc   point | mean+  mean-  across  ≥0.5',
    );
    for (const r of results) {
      const f = (x: number) => x.toFixed(3);
      console.log(
        `${String(r.run).padEnd(4)} ${f(r.accuracy)}  |  ${f(r.explainer.mass)}  ${f(r.explainer.auc)} ${f(r.explainer.pointing)} |  ${f(r.gradient.mass)}  ${f(r.gradient.auc)} ${f(r.gradient.pointing)} | ${f(r.meanPositive)}  ${f(r.meanNegative)}  ${f(r.acrossImageStd)}  ${f(r.shareAboveHalf)}`,
      );
    }
    if (results.some((r) => r.explainerShape && r.gradientShape)) {
      console.log('against the shape mask: run | explainer mass  auc | gradient mass  auc');
      for (const r of results) {
        if (!r.explainerShape || !r.gradientShape) continue;
        const f = (x: number) => x.toFixed(3);
        console.log(
          `${String(r.run).padEnd(4)} | ${f(r.explainerShape.mass)}  ${f(r.explainerShape.auc)} | ${f(r.gradientShape.mass)}  ${f(r.gradientShape.auc)}`,
        );
      }
    }
  }
  if (values.figure && figureRows.length > 0) {
    // One row per run: for each picked image, image | explainer map (absolute [0,1]) | gradient (max-normalised).
    const s = Math.round(Math.sqrt(figureRows[0][0].exp.length));
    const gap = 2;
    const cols = figureRows[0].length * 3;
    const width = cols * (s + gap);
    const height = figureRows.length * (s + gap);
    const out = new Uint8Array(width * height * 3).fill(255);
    figureRows.forEach((row, r) => {
      row.forEach((item, k) => {
        const y0 = r * (s + gap);
        const x0 = k * 3 * (s + gap);
        tile(out, width, x0, y0, s, (i) => [
          Math.round(255 * item.image[i * 3]),
          Math.round(255 * item.image[i * 3 + 1]),
          Math.round(255 * item.image[i * 3 + 2]),
        ]);
        tile(out, width, x0 + s + gap, y0, s, (i) => ramp(item.exp[i]));
        let gmax = 0;
        for (const v of item.grad) gmax = Math.max(gmax, Math.abs(v));
        tile(out, width, x0 + 2 * (s + gap), y0, s, (i) => ramp(Math.abs(item.grad[i]) / (gmax || 1)));
      });
    });
    await sharp(Buffer.from(out), { raw: { width, height, channels: 3 } })
      .resize(width * 3, height * 3, { kernel: 'nearest' })
      .png()
      .toFile(values.figure);
  }
}

await main();
