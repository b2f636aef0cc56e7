/**
 * The heart of xwb: with its default layout and phase defaults, the explainer+classifier's own map finds the
 * target. A short run on a small version of the README's 64 px colour-cue set (a green triangle outline among
 * black circles; `xwb generate --size 64 --colour-cue`) must classify it and put
 * several times the uniform map's share of relevance inside the triangle's box, on positive validation images,
 * with a map that differs from image to image. The full-size figures are in bench/explainer and
 * docs/paper-reproduction.md; this guards against the lattice that was the same on every image.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { defaultShapeCount } from '../../src/data/synthetic/options.js';
import type { EngineInfo } from '../../src/engine/types.js';
import { classBoxes, groundTruth } from '../../src/evaluate/groundtruth.js';
import { loadRunModel } from '../../src/explain/run-model.js';
import { relevanceMass } from '../../src/metrics/localisation/relevance-mass-accuracy.js';
import { openStore } from '../../src/store/index.js';
import { listSplit } from '../../src/training/data/load.js';
import { train } from '../../src/training/trainer.js';
import { type Fixture, wasm } from './helpers.js';

let engine: EngineInfo;
let data: Fixture;

before(async () => {
  engine = await wasm();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-localise-'));
  const datasetDir = path.join(dir, 'cue');
  await generateDataset(datasetDir, {
    width: 64,
    height: 64,
    images: 400,
    colourCue: true,
    shapesPerImage: defaultShapeCount(64, 64),
    seed: 7,
  });
  const dbPath = path.join(dir, 'xwb.db');
  const store = openStore(dbPath);
  const report = await importDataset(store, datasetDir, { name: 'cue' });
  data = {
    dir,
    dbPath,
    store,
    datasetId: report.dataset.id,
    datasetDir,
    done() {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

after(() => data.done());

test('the default explainer localises the target: mass in box several times uniform, image-dependent map', async () => {
  const result = await train(
    data.store,
    {
      datasetId: data.datasetId,
      model: { kind: 'expclass', inputSize: 64, base: 8 },
      phases: { classifier: { epochs: 5 }, explainer: { epochs: 5 }, joint: { epochs: 10 } },
      seed: 1,
      patience: 0,
    },
    { engine },
  );
  assert.equal(result.status, 'done');
  const dataset = data.store.datasets.getById(data.datasetId)!;
  const target = dataset.targetClass ?? 'triangle';
  const rm = await loadRunModel(data.store, result.runId);
  try {
    const images = listSplit(data.store, data.datasetId, 'val');
    const inputs = await rm.inputs(images);
    const pixels = inputs.map((i) => i.pixels);
    const t = rm.classes.indexOf(target);
    const probs = await rm.probabilities(pixels);
    const maps = (
      await rm.explain(
        'explainer',
        pixels,
        images.map(() => t),
        {},
      )
    ).maps;
    let correct = 0;
    const mass: number[] = [];
    const uniform: number[] = [];
    const posMean: number[] = [];
    const negMean: number[] = [];
    images.forEach((im, i) => {
      const boxes = classBoxes(data.store, im, target);
      const positive = boxes.length > 0;
      const predicted = probs[i][t] > 0.5;
      if (predicted === positive) correct++;
      const mean = maps[i].reduce((a, v) => a + v, 0) / maps[i].length;
      (positive ? posMean : negMean).push(mean);
      if (!positive) return;
      const mask = groundTruth(boxes, inputs[i].placement).mask.data;
      mass.push(relevanceMass(maps[i], mask, false));
      uniform.push(mask.reduce((a, v) => a + v, 0) / mask.length);
    });
    const avg = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
    const accuracy = correct / images.length;
    assert.ok(accuracy >= 0.9, `validation accuracy ${accuracy}`);
    assert.ok(mass.length >= 10, `${mass.length} positive validation images`);
    assert.ok(
      avg(mass) >= 3 * avg(uniform),
      `mass in box ${avg(mass).toFixed(3)} against a uniform map's ${avg(uniform).toFixed(3)}`,
    );
    assert.ok(avg(negMean) < avg(posMean), `mean map: negatives ${avg(negMean)}, positives ${avg(posMean)}`);
    // Image-dependent: the map's per-pixel spread across images is a real share of its level.
    const s = maps[0].length;
    let across = 0;
    for (let p = 0; p < s; p++) {
      const col = maps.map((m) => m[p]);
      const m1 = avg(col);
      across += Math.sqrt(avg(col.map((v) => (v - m1) ** 2)));
    }
    across /= s;
    const level = avg([...posMean, ...negMean]);
    assert.ok(across > 0.3 * level, `across-image spread ${across} for a mean map of ${level}`);
  } finally {
    rm.dispose();
  }
});
