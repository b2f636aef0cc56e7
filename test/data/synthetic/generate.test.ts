import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { GENERATOR_FILE, GENERATOR_VERSION, generateDataset } from '../../../src/data/synthetic/generate.js';
import { type GeneratorOptions, PAPER_OPTIONS } from '../../../src/data/synthetic/options.js';
import { fromVocBndbox } from '../../../src/data/voc/coords.js';
import { parseImageSet } from '../../../src/data/voc/imagesets.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => path.join(tmpRoot, `ds${++dirs}`);

const small: GeneratorOptions = {
  width: 64,
  height: 64,
  images: 20,
  positives: 7,
  shapesPerImage: 5,
  seed: 3,
};

function hashTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(root, p), createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

async function readGrey(file: string): Promise<Uint8Array> {
  const { data, info } = await sharp(file).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 1);
  return new Uint8Array(data);
}

/** Boxes of the objects named `cls` in a VOC file we wrote (a tiny reader, enough for our own output). */
function boxesOf(xml: string, cls: string) {
  const objects = xml.split('<object>').slice(1);
  return objects
    .filter((o) => o.includes(`<name>${cls}</name>`))
    .map((o) => {
      const n = (tag: string) => Number(new RegExp(`<${tag}>(\\d+)</${tag}>`).exec(o)![1]);
      return fromVocBndbox({ xmin: n('xmin'), ymin: n('ymin'), xmax: n('xmax'), ymax: n('ymax') });
    });
}

test('same options and seed give byte-identical files; another seed gives other images', async () => {
  const a = hashTree((await generateDataset(newDir(), small)).outDir);
  const b = hashTree((await generateDataset(newDir(), small)).outDir);
  assert.deepEqual([...a.entries()], [...b.entries()]);
  assert.ok(a.size > 60);
  const c = hashTree((await generateDataset(newDir(), { ...small, seed: 4 })).outDir);
  const images = [...a.keys()].filter((k) => k.startsWith('JPEGImages'));
  assert.equal(images.length, 20);
  assert.ok(
    images.every((k) => a.get(k) !== c.get(k)),
    'every image differs under another seed',
  );
});

test('writes the VOC layout with exact positives, stratified splits, masks and metadata', async () => {
  const progress: [number, number][] = [];
  const out = newDir();
  const summary = await generateDataset(out, small, (d, t) => progress.push([d, t]));
  assert.equal(summary.outDir, path.resolve(out));
  assert.deepEqual(summary.classes, ['triangle']);
  assert.equal(summary.positives, 7);
  assert.equal(summary.negatives, 13);
  // 20 * 0.75 = 15 train; positives 7 -> 5 / 2 (5.25, 1.75); negatives fill the rest: 10 / 3.
  assert.deepEqual(summary.splits, {
    train: { images: 15, positives: 5 },
    val: { images: 5, positives: 2 },
    test: { images: 0, positives: 0 },
  });
  assert.deepEqual(
    progress.map(([d]) => d),
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  assert.ok(progress.every(([, t]) => t === 20));

  const main = path.join(out, 'ImageSets', 'Main');
  assert.deepEqual(fs.readdirSync(main).sort(), [
    'train.txt',
    'trainval.txt',
    'triangle_train.txt',
    'triangle_trainval.txt',
    'triangle_val.txt',
    'val.txt',
  ]);
  const read = (f: string) => parseImageSet(fs.readFileSync(path.join(main, f), 'utf8'), f);
  const trainval = read('triangle_trainval.txt');
  assert.equal(trainval.length, 20);
  assert.equal(trainval.filter((l) => l.flag === 1).length, 7);
  assert.equal(read('train.txt').length, 15);
  assert.equal(read('triangle_val.txt').filter((l) => l.flag === 1).length, 2);
  assert.deepEqual(
    read('trainval.txt').map((l) => l.id),
    Array.from({ length: 20 }, (_, i) => String(i + 1).padStart(6, '0')),
  );
  assert.deepEqual(
    fs.readFileSync(path.join(out, 'ImageSets', 'Segmentation', 'val.txt'), 'utf8'),
    fs.readFileSync(path.join(main, 'val.txt'), 'utf8'),
  );

  for (const { id, flag } of trainval) {
    const xml = fs.readFileSync(path.join(out, 'Annotations', `${id}.xml`), 'utf8');
    assert.match(xml, new RegExp(`<filename>${id}\\.png</filename>`));
    assert.match(xml, /<width>64<\/width>\s*<height>64<\/height>\s*<depth>3<\/depth>/);
    const boxes = boxesOf(xml, 'triangle');
    assert.equal(boxes.length, flag === 1 ? 1 : 0, `${id}: objects vs flag`);
    const meta = await sharp(path.join(out, 'JPEGImages', `${id}.png`)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 64, 64, 3]);
    const maskMeta = await sharp(path.join(out, 'SegmentationClass', `${id}.png`)).metadata();
    assert.deepEqual([maskMeta.channels, maskMeta.space], [1, 'b-w']);
    const mask = await readGrey(path.join(out, 'SegmentationClass', `${id}.png`));
    let n = 0;
    for (let i = 0; i < mask.length; i++) {
      assert.ok(mask[i] === 0 || mask[i] === 1, `${id}: mask value ${mask[i]}`);
      if (mask[i] === 0) continue;
      n++;
      const [x, y] = [i % 64, Math.floor(i / 64)];
      const b = boxes[0];
      assert.ok(
        b && x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1,
        `${id}: mask pixel (${x},${y}) outside the box`,
      );
    }
    assert.equal(n > 0, flag === 1, `${id}: mask has ${n} pixels`);
  }

  const meta = JSON.parse(fs.readFileSync(path.join(out, GENERATOR_FILE), 'utf8'));
  assert.equal(meta.generator, 'xwb-synthetic');
  assert.equal(meta.version, GENERATOR_VERSION);
  assert.equal(meta.seed, 3);
  assert.equal(meta.options.positives, 7);
  assert.deepEqual(meta.classes, ['triangle']);
  assert.deepEqual(meta.counts.splits, summary.splits);
  // No temporary folders are left next to the output.
  assert.deepEqual(
    fs.readdirSync(tmpRoot).filter((n) => n.includes('.tmp-')),
    [],
  );
});

test('feeding the written options back reproduces the dataset', async () => {
  const first = (
    await generateDataset(newDir(), {
      ...small,
      images: 6,
      positives: 3,
      target: '7/3',
      distractors: ['square'],
    })
  ).outDir;
  const meta = JSON.parse(fs.readFileSync(path.join(first, GENERATOR_FILE), 'utf8'));
  const second = (await generateDataset(newDir(), meta.options)).outDir;
  assert.deepEqual([...hashTree(first).entries()], [...hashTree(second).entries()]);
});

test('test split, distractor classes and grey images are written when asked for', async () => {
  const out = newDir();
  const s = await generateDataset(out, {
    ...small,
    channels: 1,
    annotateDistractors: true,
    distractors: ['circle', 'square'],
    split: { train: 0.5, val: 0.25, test: 0.25 },
  });
  assert.deepEqual(s.classes, ['triangle', 'circle', 'square']);
  assert.equal(s.splits.test.images, 5);
  const main = fs.readdirSync(path.join(out, 'ImageSets', 'Main'));
  for (const f of ['test.txt', 'triangle_test.txt', 'circle_train.txt', 'square_test.txt'])
    assert.ok(main.includes(f), f);
  const meta = await sharp(path.join(out, 'JPEGImages', '000001.png')).metadata();
  assert.equal(meta.channels, 1);
  assert.match(fs.readFileSync(path.join(out, 'Annotations', '000001.xml'), 'utf8'), /<depth>1<\/depth>/);
});

test('refuses a non-empty output folder, accepts an empty one', async () => {
  const full = newDir();
  fs.mkdirSync(full);
  fs.writeFileSync(path.join(full, 'keep.txt'), 'x');
  await assert.rejects(generateDataset(full, small), /output folder .* already exists and is not empty/);
  assert.deepEqual(fs.readdirSync(full), ['keep.txt']);
  const empty = newDir();
  fs.mkdirSync(empty);
  const s = await generateDataset(empty, { ...small, images: 2, positives: 1 });
  assert.equal(fs.readdirSync(s.outDir).length, 5);
});

test('impossible layouts fail clearly and leave nothing behind', async () => {
  const out = newDir();
  await assert.rejects(
    generateDataset(out, { ...small, shapesPerImage: 12, radius: [8, 8], placementAttempts: 50 }),
    /image 0000\d\d: could not place shape/,
  );
  await assert.rejects(
    generateDataset(out, { ...small, shapesPerImage: 40, radius: [8, 10] }),
    /option shapesPerImage: 40 non-overlapping shapes .* cannot fit/,
  );
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(
    fs.readdirSync(tmpRoot).filter((n) => n.includes('.tmp-')),
    [],
  );
});

test("the paper's set: 1000 images at 224 px, exactly 618 positives, 750/250 stratified", async () => {
  const out = newDir();
  const s = await generateDataset(out, PAPER_OPTIONS);
  assert.equal(s.images, 1000);
  assert.equal(s.positives, 618);
  assert.deepEqual(s.splits.train, { images: 750, positives: 464 });
  assert.deepEqual(s.splits.val, { images: 250, positives: 154 });
  const flags = parseImageSet(
    fs.readFileSync(path.join(out, 'ImageSets', 'Main', 'triangle_trainval.txt'), 'utf8'),
    'triangle_trainval.txt',
  );
  assert.equal(flags.filter((l) => l.flag === 1).length, 618);
  assert.equal(fs.readdirSync(path.join(out, 'JPEGImages')).length, 1000);
  const xml = fs.readFileSync(
    path.join(out, 'Annotations', `${flags.find((l) => l.flag === 1)!.id}.xml`),
    'utf8',
  );
  const [box] = boxesOf(xml, 'triangle');
  // Triangles of circumradius 7-14 px span about 1.5 r to 2 r.
  assert.ok(box.x1 - box.x0 >= 10 && box.x1 - box.x0 <= 30, JSON.stringify(box));
});

test('worker threads write the same files as one thread, and fail with the error one thread meets first', async () => {
  const opts: GeneratorOptions = { ...small, images: 45, positives: 20, annotateDistractors: true };
  const one = hashTree((await generateDataset(newDir(), opts, undefined, { threads: 1 })).outDir);
  const progress: number[] = [];
  const three = hashTree(
    (await generateDataset(newDir(), opts, (d) => progress.push(d), { threads: 3 })).outDir,
  );
  assert.deepEqual([...three.entries()], [...one.entries()]);
  // Slices finish out of order, but every image is counted once.
  assert.deepEqual(
    progress,
    Array.from({ length: 45 }, (_, i) => i + 1),
  );

  // Only some images of this layout cannot be placed; threads must report the first of them, as one thread does.
  const tight: GeneratorOptions = {
    width: 48,
    height: 48,
    images: 40,
    shapesPerImage: 9,
    placementAttempts: 2,
    seed: 1,
  };
  const message = async (threads: number) => {
    const out = newDir();
    const e = await generateDataset(out, tight, undefined, { threads }).then(
      () => assert.fail('expected a layout error'),
      (err: Error) => err.message,
    );
    assert.equal(fs.existsSync(out), false);
    return e;
  };
  const serial = await message(1);
  assert.match(serial, /^image 0000\d\d: could not place shape/);
  assert.equal(await message(3), serial);
  assert.deepEqual(
    fs.readdirSync(tmpRoot).filter((n) => n.includes('.tmp-')),
    [],
  );
  await assert.rejects(generateDataset(newDir(), small, undefined, { threads: 0 }), /threads must be/);
});
