/**
 * Supervised explanations: human marks as the mask of the hybrid term. Only images somebody marked contribute,
 * and a supervised run pulls the explanation towards the marks.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { predictImages } from '../../src/training/predict.js';
import { train } from '../../src/training/trainer.js';
import { type Fixture, syntheticStore, tinyConfig, wasm } from './helpers.js';

let fx: Fixture;
let engine: Awaited<ReturnType<typeof wasm>>;

before(async () => {
  engine = await wasm();
  fx = await syntheticStore({ images: 48, size: 32, seed: 9 });
  const rater = fx.store.ratings.ensureRater('Dr Lee').id;
  // Mark the top-left quarter of a third of the training images as "should have been highlighted".
  const px = Buffer.alloc(32 * 32);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) px[y * 32 + x] = 255;
  const png = await sharp(px, { raw: { width: 32, height: 32, channels: 1 } })
    .png()
    .toBuffer();
  const train = fx.store.images.list(fx.datasetId, { split: 'train' });
  for (const im of train.filter((_, i) => i % 3 === 0)) {
    fx.store.masks.put({
      imageId: im.id,
      source: { kind: 'annotator', annotatorId: rater },
      kind: 'should-highlight',
      content: { png },
      width: 32,
      height: 32,
    });
  }
});

after(() => fx.done());

/** Mean map inside the marked top-left quarter over mean map outside it, on the marked training images. */
async function insideOverOutside(runId: number): Promise<number> {
  const marked = fx.store.images
    .list(fx.datasetId, { split: 'train' })
    .filter((im) => fx.store.masks.list(im.id).some((m) => m.kind === 'should-highlight'));
  const preds = await predictImages(fx.store, runId, { imageIds: marked.map((m) => m.id) });
  let inside = 0;
  let outside = 0;
  for (const p of preds) {
    for (let y = 0; y < p.height; y++) {
      for (let x = 0; x < p.width; x++) {
        if (x < 16 && y < 16) inside += p.explanation[y * p.width + x];
        else outside += p.explanation[y * p.width + x];
      }
    }
  }
  return inside / 256 / (outside / (32 * 32 - 256));
}

test('should-highlight marks supervise the explainer: the hybrid term is logged and the map moves towards the marks', async () => {
  const config = (gamma: number) =>
    tinyConfig(fx.datasetId, {
      model: {
        kind: 'expclass',
        inputSize: 32,
        base: 4,
        explainerHead: 'tanh-relu',
        explainerUpsample: 'transpose',
      },
      frozenStatistics: true,
      phases: {
        classifier: { epochs: 1, alpha: 1 },
        explainer: { epochs: 4, alpha: 0.5, optimizer: 'adam', lr: 0.02 },
        joint: { epochs: 0 },
      },
      // No L1 (β = 0: TV only), so the only pressure on where the map sits is the marks'.
      loss: { beta: 0, gamma, l1: null },
      data: { batchSize: 8, ...(gamma > 0 ? { maskSource: 'should-highlight' as const } : {}) },
    });
  const supervised = await train(fx.store, config(20), { engine });
  assert.equal(supervised.status, 'done');
  assert.equal(supervised.config.data.maskSource, 'should-highlight');
  const epochs = fx.store.runs.epochs(supervised.runId).filter((e) => e.phase === 'explainer');
  assert.equal(epochs.length, 4);
  for (const e of epochs) {
    const h = Number(e.metrics.hybrid);
    assert.ok(Number.isFinite(h) && h > 0 && h <= 1, `hybrid term in (0, 1]: ${h}`);
  }
  const plain = await train(fx.store, config(0), { engine });
  const plainEpochs = fx.store.runs.epochs(plain.runId).filter((e) => e.phase === 'explainer');
  assert.ok(
    plainEpochs.every((e) => Number(e.metrics.hybrid) === 0),
    'no masks, no hybrid term',
  );
  const withMarks = await insideOverOutside(supervised.runId);
  const without = await insideOverOutside(plain.runId);
  assert.ok(
    withMarks > without * 1.05,
    `inside/outside map ratio with marks ${withMarks.toFixed(3)} should exceed the unsupervised ${without.toFixed(3)}`,
  );
});
