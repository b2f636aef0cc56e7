import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { importDataset } from '../../../src/data/import/import.js';
import { GROUND_TRUTH, openStore } from '../../../src/store/index.js';
import {
  allowedSkips,
  type ImageSetData,
  type LoadedImage,
  loadSplit,
} from '../../../src/training/data/load.js';
import { vocColour } from '../../../src/training/data/masks.js';
import { type Fixture, GREEN, syntheticFixture, xmlBoxes } from './fixture.js';

let fx: Fixture;
let train64: ImageSetData;

before(async () => {
  fx = await syntheticFixture();
  train64 = await loadSplit(fx.store, fx.dataset.id, 'train', { size: 64, maskSource: 'gt-boxes' });
});
after(() => fx.done());

function mean(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

function pixel(img: LoadedImage, size: number, x: number, y: number): [number, number, number] {
  const o = (y * size + x) * 3;
  return [img.pixels[o], img.pixels[o + 1], img.pixels[o + 2]];
}

/** The expected mask by the documented rule: input pixel (c, r) is in when the source point at its centre is. */
function expectedBoxMask(
  boxes: { x0: number; y0: number; x1: number; y1: number }[],
  src: number,
  size: number,
) {
  const out = new Uint8Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const sx = ((c + 0.5) * src) / size;
      const sy = ((r + 0.5) * src) / size;
      if (boxes.some((b) => b.x0 <= sx && sx < b.x1 && b.y0 <= sy && sy < b.y1)) out[r * size + c] = 1;
    }
  }
  return out;
}

test('shapes, value range and labels match the store', () => {
  const images = fx.store.images.list(fx.dataset.id, { split: 'train' });
  assert.equal(train64.items.length, 18);
  assert.deepEqual(train64.classes, ['no-triangle', 'triangle']);
  assert.deepEqual(
    train64.items.map((i) => i.imageId),
    images.map((i) => i.id),
  );
  for (const [k, item] of train64.items.entries()) {
    assert.equal(item.pixels.length, 64 * 64 * 3);
    assert.equal(item.label, fx.dataset.classes.indexOf(images[k].label!));
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of item.pixels) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(lo >= 0 && hi <= 1, `${item.relPath}: values in [${lo}, ${hi}]`);
    assert.equal(hi, 1); // the white background
    assert.ok(lo < 0.2, `${item.relPath}: some dark ink expected, darkest ${lo}`);
  }
  assert.equal(train64.items.filter((i) => i.label === 1).length, 9);
});

test('the background is white (1.0) and the colour cue is green at the target, nowhere else', () => {
  for (const item of train64.items) {
    assert.deepEqual(pixel(item, 64, 0, 0), [1, 1, 1]);
    const boxes = xmlBoxes(fx.root, item.relPath).map((o) => o.box);
    let greenInside = 0;
    let greenOutside = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const [r, g, b] = pixel(item, 64, x, y);
        // Green: G clearly above R and B (anti-aliased edges blend green with white, keeping G highest).
        if (!(g - r > 0.2 && g - b > 0.2)) continue;
        const inside = boxes.some((bx) => bx.x0 <= x && x < bx.x1 && bx.y0 <= y && y < bx.y1);
        if (inside) greenInside++;
        else greenOutside++;
      }
    }
    assert.equal(greenOutside, 0, `${item.relPath}: green outside the target box`);
    if (item.label === 1) assert.ok(greenInside >= 5, `${item.relPath}: only ${greenInside} green pixels`);
    else assert.equal(greenInside, 0);
  }
  // The pure target colour itself appears (a stroke pixel fully covered by the line).
  const strongest = Math.max(
    ...train64.items.flatMap((item) => {
      const best: number[] = [];
      for (let i = 0; i < item.pixels.length; i += 3) {
        if (item.pixels[i] < 0.05 && item.pixels[i + 2] < 0.05) best.push(item.pixels[i + 1]);
      }
      return best;
    }),
  );
  assert.ok(Math.abs(strongest - GREEN[1] / 255) < 0.02, `strongest pure green ${strongest}`);
});

test('masks from boxes cover exactly the XML box pixels at native size; negatives have no mask', () => {
  for (const item of train64.items) {
    const objects = xmlBoxes(fx.root, item.relPath).filter((o) => o.name === 'triangle');
    if (objects.length === 0) {
      assert.equal(item.mask, null, `${item.relPath}: a negative image has no mask`);
      continue;
    }
    const expected = new Uint8Array(64 * 64);
    for (const { box } of objects) {
      for (let y = box.y0; y < box.y1; y++) expected.fill(1, y * 64 + box.x0, y * 64 + box.x1);
    }
    assert.deepEqual(item.mask, expected, `${item.relPath}`);
  }
});

test('masks and pixels when shrinking 64 → 32: boxes scaled by the centre rule, brightness kept', async () => {
  const small = await loadSplit(fx.store, fx.dataset.id, 'val', { size: 32, maskSource: 'gt-boxes' });
  const native = await loadSplit(fx.store, fx.dataset.id, 'val', { size: 64 });
  assert.equal(small.items.length, 6);
  for (const [k, item] of small.items.entries()) {
    assert.equal(item.pixels.length, 32 * 32 * 3);
    const boxes = xmlBoxes(fx.root, item.relPath).map((o) => o.box);
    if (boxes.length === 0) assert.equal(item.mask, null);
    else assert.deepEqual(item.mask, expectedBoxMask(boxes, 64, 32), item.relPath);
    // A white corner stays white, and resampling (a low-pass filter) keeps the mean brightness.
    assert.deepEqual(Array.from(item.pixels.subarray(0, 3)), [1, 1, 1]);
    assert.ok(Math.abs(mean(native.items[k].pixels) - mean(item.pixels)) < 0.005, item.relPath);
  }
});

test('gt-mask uses the generator masks: inside the target box, non-empty for positives only', async () => {
  const withMasks = await loadSplit(fx.store, fx.dataset.id, 'val', { size: 64, maskSource: 'gt-mask' });
  for (const item of withMasks.items) {
    const boxes = xmlBoxes(fx.root, item.relPath).map((o) => o.box);
    if (boxes.length === 0) {
      assert.equal(item.mask, null);
      continue;
    }
    assert.ok(item.mask !== null);
    let on = 0;
    for (let i = 0; i < item.mask.length; i++) {
      if (!item.mask[i]) continue;
      on++;
      const x = i % 64;
      const y = Math.floor(i / 64);
      assert.ok(
        boxes.some((b) => b.x0 <= x && x < b.x1 && b.y0 <= y && y < b.y1),
        `${item.relPath} (${x}, ${y})`,
      );
    }
    assert.ok(on >= 5);
  }
});

test('progress is reported from 0 to the total; trainval is train and val together', async () => {
  const calls: [number, number][] = [];
  const all = await loadSplit(fx.store, fx.dataset.id, 'trainval', {
    size: 16,
    onProgress: (d, t) => calls.push([d, t]),
  });
  assert.equal(all.items.length, 24);
  assert.deepEqual(calls[0], [0, 24]);
  assert.deepEqual(calls.at(-1), [24, 24]);
  assert.equal(calls.length, 25);
  assert.ok(all.items.every((i) => i.mask === null));
  const paths = all.items.map((i) => i.relPath);
  assert.deepEqual(paths, [...paths].sort());
});

test('an unknown or missing label is an error naming the image, before anything is decoded', async () => {
  const img = fx.store.images.list(fx.dataset.id, { split: 'val' })[0];
  const { id: _id, split: _s, createdAt: _c, updatedAt: _u, ...input } = img;
  let decodes = 0;
  const decoder = async () => {
    decodes++;
    return new Float32Array(8 * 8 * 3);
  };
  try {
    fx.store.images.upsert({ ...input, label: 'unicorn' });
    await assert.rejects(
      loadSplit(fx.store, fx.dataset.id, 'val', { size: 8, decoder }),
      new RegExp(`${img.relPath} has label "unicorn", which is not one of the dataset's classes`),
    );
    fx.store.images.upsert({ ...input, label: null });
    await assert.rejects(
      loadSplit(fx.store, fx.dataset.id, 'val', { size: 8, decoder }),
      new RegExp(`split val: 1 image\\(s\\) cannot be trained on: ${img.relPath} has no label`),
    );
    assert.equal(decodes, 0);
    const lenient = await loadSplit(fx.store, fx.dataset.id, 'val', {
      size: 8,
      decoder,
      allowUnlabelled: true,
    });
    assert.equal(lenient.items.find((i) => i.imageId === img.id)?.label, -1);
  } finally {
    fx.store.images.upsert(input);
  }
});

test('bad options, a too-large set and a changed file are refused with what to do', async () => {
  await assert.rejects(
    loadSplit(fx.store, fx.dataset.id, 'val', { size: 0 }),
    /option size: expected an integer/,
  );
  await assert.rejects(
    loadSplit(fx.store, fx.dataset.id, 'val', { size: 8, maskSource: 'boxes' as never }),
    /option maskSource: expected one of gt-boxes, gt-mask, annotator-boxes, regions, should-highlight, human, none/,
  );
  await assert.rejects(loadSplit(fx.store, 999, 'val', { size: 8 }), /no dataset with id 999/);
  await assert.rejects(
    loadSplit(fx.store, fx.dataset.id, 'train', { size: 64, maxBytes: 500_000 }),
    /18 images at 64 px need 0\.8 MiB in memory, more than the allowed 0\.5 MiB; use a smaller input size or raise maxBytes/,
  );
  const img = fx.store.images.list(fx.dataset.id, { split: 'val' })[0];
  const file = path.join(fx.root, img.relPath);
  const original = fs.readFileSync(file);
  try {
    fs.writeFileSync(file, await sharp(original).negate().png().toBuffer());
    // With no image allowed to be skipped (the default allows some: see the next test).
    await assert.rejects(
      loadSplit(fx.store, fx.dataset.id, 'val', { size: 8, maxSkippedFraction: 0 }),
      new RegExp(`${img.relPath}: the file changed since it was imported.*re-import`),
    );
    fs.rmSync(file);
    await assert.rejects(
      loadSplit(fx.store, fx.dataset.id, 'val', { size: 8, maxSkippedFraction: 0 }),
      new RegExp(`${img.relPath}: cannot read image \\(ENOENT\\); if the dataset moved, re-import it`),
    );
  } finally {
    fs.writeFileSync(file, original);
  }
});

test('an unreadable image is left out with a warning naming it; too many fail the load, naming them', async () => {
  const images = fx.store.images.list(fx.dataset.id, { split: 'train' });
  assert.equal(images.length, 18);
  const files = images.map((im) => path.join(fx.root, im.relPath));
  const originals = files.map((f) => fs.readFileSync(f));
  try {
    // One image replaced by text: by default one of 18 may be left out (max(1, floor(18 × 0.1))).
    fs.writeFileSync(files[3], 'not an image');
    const seen: string[] = [];
    const data = await loadSplit(fx.store, fx.dataset.id, 'train', {
      size: 8,
      onSkip: (s) => seen.push(s.message),
    });
    assert.equal(data.items.length, 17);
    assert.deepEqual(
      data.items.map((i) => i.imageId),
      images.filter((_, k) => k !== 3).map((i) => i.id),
    );
    assert.deepEqual(
      data.skipped.map((s) => [s.imageId, s.relPath, s.file]),
      [[images[3].id, images[3].relPath, files[3]]],
    );
    assert.equal(seen.length, 1);
    assert.ok(seen[0].startsWith(`${files[3]}: the file changed since it was imported`), seen[0]);

    // A second one (deleted) is more than that allowance: the load fails and names the files.
    fs.rmSync(files[11]);
    await assert.rejects(
      loadSplit(fx.store, fx.dataset.id, 'train', { size: 8, concurrency: 1 }),
      (e: Error) =>
        e.message.includes(
          'split train: 2 of 18 images cannot be read, more than the 1 that may be skipped (10 %)',
        ) &&
        e.message.includes(files[3]) &&
        e.message.includes(`${files[11]}: cannot read image (ENOENT)`) &&
        e.message.includes('Fix or restore the files'),
    );
    // A larger allowance (20 %: 3 images) leaves both out and loads the rest, in the store's order.
    const lenient = await loadSplit(fx.store, fx.dataset.id, 'train', { size: 8, maxSkippedFraction: 0.2 });
    assert.equal(lenient.items.length, 16);
    assert.deepEqual(
      lenient.skipped.map((s) => s.relPath),
      [images[3].relPath, images[11].relPath],
    );
  } finally {
    for (const [k, f] of files.entries()) fs.writeFileSync(f, originals[k]);
  }
});

test('allowedSkips: one image may always be lost, except the only one; 0 forbids it', () => {
  assert.equal(allowedSkips(1, 0.1), 0);
  assert.equal(allowedSkips(2, 0.1), 1);
  assert.equal(allowedSkips(18, 0.1), 1);
  assert.equal(allowedSkips(20, 0.1), 2);
  assert.equal(allowedSkips(10_000, 0.1), 1000);
  assert.equal(allowedSkips(10_000, 0), 0);
});

test('grey, grey+alpha, RGBA and non-square images come out as 3 channels with the documented values', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
  const root = path.join(dir, 'odd');
  fs.mkdirSync(path.join(root, 'a'), { recursive: true });
  fs.mkdirSync(path.join(root, 'b'), { recursive: true });
  const store = openStore(path.join(dir, 'xwb.db'));
  try {
    const greyValues = [0, 51, 102, 255];
    await sharp(Buffer.from(greyValues), { raw: { width: 2, height: 2, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(path.join(root, 'a', 'grey.png'));
    // Grey+alpha: (0, opaque), (200, transparent), (100, half), (255, opaque).
    await sharp(Buffer.from([0, 255, 200, 0, 100, 128, 255, 255]), {
      raw: { width: 2, height: 2, channels: 2 },
    })
      .toColourspace('b-w')
      .png()
      .toFile(path.join(root, 'a', 'greyalpha.png'));
    // RGBA: opaque red, transparent blue, half-transparent green, opaque (10, 20, 30).
    const rgba = [255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 128, 10, 20, 30, 255];
    await sharp(Buffer.from(rgba), { raw: { width: 2, height: 2, channels: 4 } })
      .png()
      .toFile(path.join(root, 'b', 'rgba.png'));
    // 4×2 black image: non-square.
    await sharp({ create: { width: 4, height: 2, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png()
      .toFile(path.join(root, 'b', 'wide.png'));
    const { dataset, images } = await importDataset(store, root, { valFraction: 0 });
    assert.equal(images.inserted, 4);
    const set = await loadSplit(store, dataset.id, 'train', { size: 2, kernel: 'nearest' });
    const byName = new Map(set.items.map((i) => [path.basename(i.relPath), i]));
    const values = (name: string) => Array.from(byName.get(name)!.pixels, (v) => Math.round(v * 255));
    assert.deepEqual(
      values('grey.png'),
      greyValues.flatMap((v) => [v, v, v]),
    );
    // Composited on white: v·a + 255·(1 − a); 100 at alpha 128 → 177.5.
    const ga = values('greyalpha.png');
    assert.deepEqual(ga.slice(0, 6), [0, 0, 0, 255, 255, 255]);
    assert.ok(
      Math.abs(ga[6] - 177.5) <= 1 && ga[6] === ga[7] && ga[7] === ga[8],
      `grey+alpha half: ${ga[6]}`,
    );
    assert.deepEqual(ga.slice(9), [255, 255, 255]);
    const c = values('rgba.png');
    assert.deepEqual(c.slice(0, 6), [255, 0, 0, 255, 255, 255]);
    assert.ok(
      Math.abs(c[6] - 127) <= 1 && c[7] === 255 && Math.abs(c[8] - 127) <= 1,
      `rgba half: ${c.slice(6, 9)}`,
    );
    assert.deepEqual(c.slice(9), [10, 20, 30]);
    assert.equal(set.classes.length, 2);
    assert.deepEqual(
      set.items.map((i) => set.classes[i.label]),
      set.items.map((i) => path.dirname(i.relPath)),
    );

    // The 4×2 image stretched fills 4×4; letterboxed it fills rows 1 and 2 and the rest is the pad value.
    const stretch = await loadSplit(store, dataset.id, 'train', { size: 4 });
    assert.ok(stretch.items.find((i) => i.relPath.endsWith('wide.png'))!.pixels.every((v) => v === 0));
    const boxed = await loadSplit(store, dataset.id, 'train', {
      size: 4,
      resize: 'letterbox',
      padValue: 0.5,
    });
    const wide = boxed.items.find((i) => i.relPath.endsWith('wide.png'))!;
    assert.deepEqual(
      [
        wide.placement.contentX,
        wide.placement.contentY,
        wide.placement.contentWidth,
        wide.placement.contentHeight,
      ],
      [0, 1, 4, 2],
    );
    const rows = Array.from({ length: 4 }, (_, r) => [
      ...new Set(wide.pixels.subarray(r * 12, (r + 1) * 12)),
    ]);
    assert.deepEqual(rows, [[0.5], [0], [0], [0.5]]);
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('VOC palette class masks keep the target colour; painted highlight masks are united in', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
  const store = openStore(path.join(dir, 'xwb.db'));
  try {
    const file = path.join(dir, 'img.png');
    await sharp({ create: { width: 4, height: 2, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .png()
      .toFile(file);
    const bytes = fs.readFileSync(file);
    const dataset = store.datasets.create({
      name: 'voc-like',
      kind: 'voc',
      sourcePath: dir,
      classes: ['no-cat', 'cat'],
      targetClass: 'cat',
    });
    const { id } = store.images.upsert({
      datasetId: dataset.id,
      relPath: 'img.png',
      width: 4,
      height: 2,
      channels: 3,
      format: 'png',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      label: 'cat',
    });
    store.splits.set([{ imageId: id, split: 'train' }]);
    // Row 0: background, cat, cat, person; row 1: void, cat, person, background.
    const cat = vocColour(8);
    const person = vocColour(15);
    const rgb = [[0, 0, 0], cat, cat, person, vocColour(255), cat, person, [0, 0, 0]].flat();
    const classPng = await sharp(Buffer.from(rgb), { raw: { width: 4, height: 2, channels: 3 } })
      .png({ palette: true, colours: 4, dither: 0 })
      .toBuffer();
    store.masks.put({
      imageId: id,
      kind: 'class',
      source: GROUND_TRUTH,
      content: { png: classPng },
      width: 4,
      height: 2,
    });
    const set = await loadSplit(store, dataset.id, 'train', { size: 4, maskSource: 'gt-mask' });
    // Stretched to 4×4: input rows 0-1 show source row 0, rows 2-3 show source row 1.
    assert.deepEqual(Array.from(set.items[0].mask!), [0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0]);

    // A painted highlight (white on black) over the last column is added to the union.
    const paint = await sharp(Buffer.from([0, 0, 0, 255, 0, 0, 0, 255]), {
      raw: { width: 4, height: 2, channels: 1 },
    })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    store.masks.put({
      imageId: id,
      kind: 'should-highlight',
      source: GROUND_TRUTH,
      content: { png: paint },
      width: 4,
      height: 2,
    });
    const both = await loadSplit(store, dataset.id, 'train', {
      size: 4,
      maskSource: 'gt-mask',
      highlightMasks: true,
    });
    assert.deepEqual(Array.from(both.items[0].mask!), [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    const only = await loadSplit(store, dataset.id, 'train', {
      size: 4,
      maskSource: 'none',
      highlightMasks: true,
    });
    assert.deepEqual(Array.from(only.items[0].mask!), [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);

    // A mask that does not match its image is refused, naming the image.
    const wrong = await sharp({ create: { width: 3, height: 3, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    store.masks.put({
      imageId: id,
      kind: 'class',
      source: GROUND_TRUTH,
      content: { png: wrong },
      width: 4,
      height: 2,
    });
    await assert.rejects(
      loadSplit(store, dataset.id, 'train', { size: 4, maskSource: 'gt-mask' }),
      /class mask of image img\.png is 3×3 but the image is 4×2/,
    );

    const aborted = new AbortController();
    aborted.abort(new Error('user cancelled'));
    await assert.rejects(
      loadSplit(store, dataset.id, 'train', { size: 4, signal: aborted.signal }),
      /user cancelled/,
    );
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
