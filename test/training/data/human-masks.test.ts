/** Human marks (annotators' boxes and regions, raters' should-highlight marks) as masks of the hybrid loss. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { ImageRecord } from '../../../src/store/index.js';
import { buildMask } from '../../../src/training/data/masks.js';
import { placeImage } from '../../../src/training/data/placement.js';
import { type Fixture, syntheticFixture } from './fixture.js';

let fx: Fixture;
let image: ImageRecord;
let other: ImageRecord;
let annotator: number;

/** A 64×64 grey PNG, 255 inside the rectangle [x0, x1) × [y0, y1), 0 elsewhere. */
async function rectPng(x0: number, y0: number, x1: number, y1: number): Promise<Buffer> {
  const px = Buffer.alloc(64 * 64);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) px[y * 64 + x] = 255;
  return sharp(px, { raw: { width: 64, height: 64, channels: 1 } })
    .png()
    .toBuffer();
}

const on = (m: Uint8Array | null) => (m === null ? 0 : m.reduce((a, v) => a + (v ? 1 : 0), 0));
const at = (m: Uint8Array | null, x: number, y: number) => (m ? m[y * 64 + x] : 0);

before(async () => {
  fx = await syntheticFixture();
  [image, other] = fx.store.images.list(fx.dataset.id, { limit: 2 });
  annotator = fx.store.ratings.ensureRater('Dr Lee').id;
  const source = { kind: 'annotator' as const, annotatorId: annotator };
  fx.store.objects.addAnnotation(image.id, annotator, {
    name: 'triangle',
    box: { x0: 0, y0: 0, x1: 4, y1: 4 },
  });
  // A box of another class is not a mark of the target.
  fx.store.objects.addAnnotation(image.id, annotator, {
    name: 'circle',
    box: { x0: 60, y0: 60, x1: 64, y1: 64 },
  });
  fx.store.masks.put({
    imageId: image.id,
    source,
    kind: 'region',
    content: { png: await rectPng(10, 10, 15, 12) },
    width: 64,
    height: 64,
  });
  fx.store.masks.put({
    imageId: image.id,
    source,
    kind: 'should-highlight',
    content: { png: await rectPng(30, 30, 33, 33) },
    width: 64,
    height: 64,
  });
});

after(() => fx.done());

const build = (
  img: ImageRecord,
  source: 'annotator-boxes' | 'regions' | 'should-highlight' | 'human' | 'gt-boxes',
) =>
  buildMask(fx.store, fx.dataset, img, placeImage(64, 64, 64, 'stretch'), { source, highlightMasks: false });

test('each human source reads exactly its own marks', async () => {
  const boxes = await build(image, 'annotator-boxes');
  assert.equal(on(boxes), 16, 'the 4×4 triangle box; the circle box is not the target class');
  assert.equal(at(boxes, 0, 0), 1);
  assert.equal(at(boxes, 61, 61), 0);
  const regions = await build(image, 'regions');
  assert.equal(on(regions), 10);
  assert.equal(at(regions, 12, 11), 1);
  const highlight = await build(image, 'should-highlight');
  assert.equal(on(highlight), 9);
  assert.equal(at(highlight, 31, 31), 1);
  assert.equal(on(await build(image, 'human')), 16 + 10 + 9, 'human = the union of all three');
});

test('an image nobody marked gets no mask, so it does not enter the hybrid term', async () => {
  assert.equal(await build(other, 'human'), null);
});

test('deleted annotator boxes no longer supervise', async () => {
  const box = fx.store.objects
    .list(image.id)
    .find((o) => o.source.kind === 'annotator' && o.object.name === 'triangle');
  assert.ok(box);
  fx.store.objects.deleteAnnotation(box.id);
  assert.equal(await build(image, 'annotator-boxes'), null);
  fx.store.objects.restoreAnnotation(box.id);
  assert.equal(on(await build(image, 'annotator-boxes')), 16);
});

test('ground-truth boxes are not human marks', async () => {
  const gt = await build(image, 'gt-boxes');
  const human = await build(image, 'human');
  assert.notDeepEqual(gt, human);
});
