/**
 * Figure grids like the papers', written as PNG into docs/figures/ (composed with sharp, viridis colour map):
 * - rio-torto-l1.png: per model (no L1, the three L1 factors, the colour-cue set), for two positive validation
 *   images: original | explanation | explanation thresholded at 0.75 (values below set to 0), as the paper's
 *   Figs. 4 and 5. Explainer maps are shown as they are (their range is [0, 1]).
 * - rio-torto-posthoc.png (-trained.png): the same columns for the nine post-hoc methods on the classifier alone
 *   after 8 epochs (after 27, trained), each map taken
 *   in absolute value and divided by its maximum (the paper, Fig. 6: "the colour map … was adjusted"), with the
 *   explainer of the 1e-6 run as the last row.
 * - rieger-diffusion.png: per λ, for two validation images: original | deep Taylor map for the top class | for
 *   the second class | |difference| (what the diffusion metric sums), each pair scaled by their common max.
 * Rows whose run has not finished are left out. Each image is a pure function of the maps, so re-running
 * rewrites the same files.
 *
 * Run: node --import tsx bench/paper/figures.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { initEngine } from '../../src/engine/select.js';
import { loadRunModel, type RunModel } from '../../src/explain/run-model.js';
import { getOrCompute } from '../../src/explain/store.js';
import type { ImageRecord } from '../../src/store/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { listSplit } from '../../src/training/data/load.js';
import { DB, POST_HOC, REPO, readResults } from './common.js';
import { colourise, imageRgb, maxAbs, thresholded } from './render.js';
import { repairL1Configs } from './workaround.js';

const FIGURES = path.join(REPO, 'docs', 'figures');
const SCALE = 3;
const LABEL_W = 220;
const GAP = 4;

async function tile(rgb: Buffer, size: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
    .resize(size * SCALE, size * SCALE, { kernel: 'nearest' })
    .png()
    .toBuffer();
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function textSvg(text: string, width: number, height: number, size = 15): Buffer {
  const lines = text.split('\n');
  const body = lines
    .map(
      (l, i) =>
        `<text x="6" y="${height / 2 + (i - (lines.length - 1) / 2) * (size + 3) + size / 3}" font-family="sans-serif" font-size="${size}">${escapeXml(l)}</text>`,
    )
    .join('');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`,
  );
}

interface Row {
  label: string;
  tiles: Buffer[]; // raw RGB S×S each
}

/** Writes a grid: a header line of column titles, then one labelled row per entry; atomic (temp + rename). */
async function writeGrid(file: string, size: number, columns: string[], rows: Row[]): Promise<void> {
  if (rows.length === 0) {
    console.log(`${path.basename(file)}: no finished run to draw, skipped`);
    return;
  }
  const t = size * SCALE;
  const header = 40;
  const width = LABEL_W + columns.length * (t + GAP);
  const height = header + rows.length * (t + GAP);
  const layers: OverlayOptions[] = [];
  for (const [j, c] of columns.entries()) {
    layers.push({ input: textSvg(c, t, header, 13), left: LABEL_W + j * (t + GAP), top: 0 });
  }
  for (const [i, row] of rows.entries()) {
    const top = header + i * (t + GAP);
    layers.push({ input: textSvg(row.label, LABEL_W, t), left: 0, top });
    for (const [j, rgb] of row.tiles.entries())
      layers.push({ input: await tile(rgb, size), left: LABEL_W + j * (t + GAP), top });
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp.png`;
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .png()
    .toFile(tmp);
  fs.renameSync(tmp, file);
  console.log(`wrote ${path.relative(REPO, file)} (${rows.length} rows)`);
}

/** The first n positive validation images of a Rio-Torto dataset (same ids for every run on it). */
function positives(store: Store, datasetId: number, n: number): ImageRecord[] {
  return listSplit(store, datasetId, 'val')
    .filter((i) => i.label === 'triangle')
    .slice(0, n);
}

async function rtTiles(
  store: Store,
  rm: RunModel,
  images: ImageRecord[],
  method: string,
  normalise: boolean,
): Promise<Buffer[]> {
  const size = rm.inputSize;
  const triangle = rm.classes.indexOf('triangle');
  const inputs = await rm.inputs(images);
  const cache = await getOrCompute(
    store,
    rm,
    images.map((i) => i.id),
    method,
    {},
    triangle,
  );
  const tiles: Buffer[] = [];
  cache.items.forEach((item, k) => {
    const map = normalise ? maxAbs(item.map) : item.map;
    tiles.push(
      imageRgb(inputs[k].pixels, size),
      colourise(map, size),
      colourise(thresholded(map, 0.75), size),
    );
  });
  return tiles;
}

async function withRun<T>(store: Store, runId: number, fn: (rm: RunModel) => Promise<T>): Promise<T> {
  const rm = await loadRunModel(store, runId);
  try {
    return await fn(rm);
  } finally {
    rm.dispose();
  }
}

async function main(): Promise<void> {
  const engine = await initEngine({ prefer: 'wasm' });
  console.log(`engine: ${engine.name}`);
  const runs = (readResults().runs ?? {}) as Record<string, { runId: number; status: string; label: string }>;
  const ok = (key: string) => runs[key]?.status === 'done';
  const repaired = repairL1Configs(DB);
  if (repaired.length > 0)
    console.log(`repaired the stored config of run(s) ${repaired.join(', ')} (see workaround.ts)`);
  const store = openStore(DB);
  try {
    const rtCols = [
      'image 1',
      'explanation',
      'thresholded 0.75',
      'image 2',
      'explanation',
      'thresholded 0.75',
    ];
    const l1Rows: Row[] = [];
    const l1Keys: [string, string][] = [
      ['expclass-l1-0', 'no L1'],
      ['expclass-l1-1e-8', 'L1 1e-8\n(λ 0.004)'],
      ['expclass-l1-1e-6', 'L1 1e-6\n(λ 0.40)'],
      ['expclass-l1-1e-4', 'L1 1e-4\n(λ 40)'],
      ['expclass-colour-l1-0', 'colour cue,\nno L1'],
    ];
    for (const [key, label] of l1Keys) {
      if (!ok(key)) continue;
      l1Rows.push({
        label,
        tiles: await withRun(store, runs[key].runId, async (rm) =>
          rtTiles(store, rm, positives(store, rm.datasetId, 2), 'explainer', false),
        ),
      });
    }
    await writeGrid(path.join(FIGURES, 'rio-torto-l1.png'), 64, rtCols, l1Rows);

    for (const [key, file] of [
      ['classifier', 'rio-torto-posthoc.png'],
      ['classifier-long', 'rio-torto-posthoc-trained.png'],
    ] as const) {
      const phRows: Row[] = [];
      if (ok(key)) {
        await withRun(store, runs[key].runId, async (rm) => {
          const imgs = positives(store, rm.datasetId, 2);
          for (const m of POST_HOC)
            phRows.push({ label: m.replaceAll('_', ' '), tiles: await rtTiles(store, rm, imgs, m, true) });
        });
      }
      if (ok('expclass-l1-1e-6')) {
        phRows.push({
          label: 'explainer\n(L1 1e-6 run)',
          tiles: await withRun(store, runs['expclass-l1-1e-6'].runId, async (rm) =>
            rtTiles(store, rm, positives(store, rm.datasetId, 2), 'explainer', false),
          ),
        });
      }
      await writeGrid(path.join(FIGURES, file), 64, rtCols, phRows);
    }

    const rgRows: Row[] = [];
    for (const key of Object.keys(runs).filter((k) => k.startsWith('rieger-') && ok(k))) {
      const tiles = await withRun(store, runs[key].runId, async (rm) => {
        const imgs = listSplit(store, rm.datasetId, 'val')
          .filter((_, i) => i % 75 === 0)
          .slice(0, 2);
        const inputs = await rm.inputs(imgs);
        const pixels = inputs.map((x) => x.pixels);
        const probs = await rm.probabilities(pixels);
        const out: Buffer[] = [];
        for (const [k, p] of probs.entries()) {
          const order = [...p.keys()].sort((a, b) => p[b] - p[a]);
          const [m1] = (await rm.explain('deep_taylor', [pixels[k]], [order[0]], {})).maps;
          const [m2] = (await rm.explain('deep_taylor', [pixels[k]], [order[1]], {})).maps;
          let m = 0;
          for (let i = 0; i < m1.length; i++) m = Math.max(m, Math.abs(m1[i]), Math.abs(m2[i]));
          const s = (x: Float32Array) => x.map((v) => (m > 0 ? Math.abs(v) / m : 0));
          const diff = m1.map((v, i) => Math.abs(v - m2[i]));
          out.push(
            imageRgb(pixels[k], rm.inputSize),
            colourise(s(m1), rm.inputSize),
            colourise(s(m2), rm.inputSize),
          );
          out.push(colourise(s(diff), rm.inputSize));
        }
        return out;
      });
      rgRows.push({
        label:
          key === 'rieger-pretrained'
            ? 'pre-trained'
            : key.startsWith('rieger-ft-')
              ? `λ = ${key.replace('rieger-ft-', '')}\nfine-tuned`
              : `λ = ${key.replace('rieger-block-', '')}`,
        tiles,
      });
    }
    await writeGrid(
      path.join(FIGURES, 'rieger-diffusion.png'),
      64,
      [
        'image 1',
        'DTD top class',
        'DTD 2nd class',
        '|difference|',
        'image 2',
        'DTD top class',
        'DTD 2nd class',
        '|difference|',
      ],
      rgRows,
    );
  } finally {
    store.close();
  }
}

await main();
