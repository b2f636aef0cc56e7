import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { ImportError, importDataset, stratifiedSplit } from '../../../src/data/import/import.js';
import { DatasetLayoutError } from '../../../src/data/import/scan.js';
import { generateDataset } from '../../../src/data/synthetic/generate.js';
import { parseImageSet } from '../../../src/data/voc/imagesets.js';
import { GROUND_TRUTH, openStore, type Store } from '../../../src/store/index.js';
import {
  box,
  datasetSnapshot,
  encodeImage,
  type Format,
  hashTree,
  removeDir,
  sha256,
  storeSnapshot,
  tempDir,
  writeFile,
  writeVocDevkit,
} from './fixtures.js';

const root = tempDir();
after(() => removeDir(root));
let n = 0;
const newDir = () => path.join(root, `d${++n}`);

/** A fresh store whose clock advances one second per call, so any write would show in updated_at. */
function newStore(): Store {
  let t = Date.UTC(2024, 0, 1);
  const now = () => {
    t += 1000;
    return new Date(t).toISOString();
  };
  return openStore(path.join(newDir(), 'xwb.db'), { now });
}

test('every image format and channel layout: size, channels, format and the hash of the file bytes', async () => {
  const dir = newDir();
  const cases: { file: string; format: Format; channels: 1 | 2 | 3 | 4; stored: string }[] = [
    { file: 'a/rgb.png', format: 'png', channels: 3, stored: 'png' },
    { file: 'a/grey.png', format: 'png', channels: 1, stored: 'png' },
    { file: 'a/rgba.png', format: 'png', channels: 4, stored: 'png' },
    { file: 'a/greyalpha.png', format: 'png', channels: 2, stored: 'png' },
    { file: 'b/photo.jpg', format: 'jpeg', channels: 3, stored: 'jpeg' },
    { file: 'b/grey.jpeg', format: 'jpeg', channels: 1, stored: 'jpeg' },
    { file: 'b/rgb.webp', format: 'webp', channels: 3, stored: 'webp' },
    { file: 'b/rgba.webp', format: 'webp', channels: 4, stored: 'webp' },
    { file: 'b/old.bmp', format: 'bmp', channels: 3, stored: 'bmp' },
  ];
  const bytes = new Map<string, Buffer>();
  for (const [i, c] of cases.entries()) {
    const buf = await encodeImage(c.format, 7 + i, 5 + i, c.channels, i + 1);
    bytes.set(c.file, buf);
    writeFile(path.join(dir, c.file), buf);
  }
  const store = newStore();
  try {
    const report = await importDataset(store, dir, { name: 'formats' });
    assert.deepEqual(report.errors, []);
    assert.equal(report.images.inserted, cases.length);
    const images = store.images.list(report.dataset.id);
    for (const [i, c] of cases.entries()) {
      const im = images.find((x) => x.relPath === c.file);
      assert.ok(im, c.file);
      assert.deepEqual(
        [im.width, im.height, im.channels, im.format, im.sha256, im.label],
        [7 + i, 5 + i, c.channels, c.stored, sha256(bytes.get(c.file)!), c.file.split('/')[0]],
        c.file,
      );
    }
  } finally {
    store.close();
  }
});

/** Two classes, boxes, one mask, ImageSets for every image. */
async function vocFixture(dir: string): Promise<void> {
  await writeVocDevkit(dir, [
    {
      id: 'img1',
      width: 20,
      height: 16,
      objects: [
        { name: 'cat', box: box(0, 0, 20, 16), difficult: true, pose: 'Left' },
        { name: 'dog', box: box(3, 4, 9, 10), truncated: true, pose: 'Frontal' },
      ],
      split: 'train',
      mask: true,
    },
    { id: 'img2', width: 24, height: 18, objects: [{ name: 'dog', box: box(1, 2, 3, 4) }], split: 'val' },
    { id: 'img3', width: 24, height: 18, objects: [], split: 'train' },
  ]);
}

test('a VOC devkit: exact boxes, masks, ImageSets splits, classes from the objects; sources untouched', async () => {
  const dir = newDir();
  await vocFixture(dir);
  const before = hashTree(dir);
  const store = newStore();
  try {
    const r = await importDataset(store, dir);
    assert.equal(r.dataset.name, path.basename(dir));
    assert.equal(r.dataset.kind, 'voc');
    assert.equal(r.layout, 'voc');
    assert.deepEqual(r.dataset.classes, ['cat', 'dog']);
    assert.equal(r.dataset.targetClass, null);
    assert.deepEqual(r.images, { found: 3, inserted: 3, updated: 0, unchanged: 0, failed: 0 });
    assert.equal(r.objects, 3);
    assert.equal(r.masks, 1);
    const im1 = store.images.getByPath(r.dataset.id, 'JPEGImages/img1.png')!;
    assert.deepEqual(
      store.objects.list(im1.id, { source: GROUND_TRUTH }).map((o) => o.object),
      [
        { name: 'cat', box: box(0, 0, 20, 16), difficult: true, pose: 'Left', truncated: false },
        { name: 'dog', box: box(3, 4, 9, 10), truncated: true, pose: 'Frontal', difficult: false },
      ],
    );
    const mask = store.masks.get(im1.id, 'class', GROUND_TRUTH);
    assert.deepEqual(mask?.content, { relPath: 'SegmentationClass/img1.png' });
    assert.deepEqual([mask?.width, mask?.height], [20, 16]);
    const splits = Object.fromEntries(store.images.list(r.dataset.id).map((im) => [im.relPath, im.split]));
    assert.deepEqual(splits, {
      'JPEGImages/img1.png': 'train',
      'JPEGImages/img2.png': 'val',
      'JPEGImages/img3.png': 'train',
    });
    assert.deepEqual(hashTree(dir), before, 'import must not modify source files');
  } finally {
    store.close();
  }
});

test('re-importing the same folder changes nothing: all unchanged, rows and updated_at identical', async () => {
  const dir = newDir();
  await vocFixture(dir);
  writeFile(path.join(dir, 'JPEGImages', 'img4.png'), await encodeImage('png', 9, 9, 3, 44)); // no split
  const store = newStore();
  try {
    const first = await importDataset(store, dir);
    const snap = datasetSnapshot(store, first.dataset.id);
    const again = await importDataset(store, dir);
    assert.equal(again.created, false);
    assert.deepEqual(again.images, { found: 4, inserted: 0, updated: 0, unchanged: 4, failed: 0 });
    assert.equal(again.splitsAssigned, 0);
    assert.deepEqual(datasetSnapshot(store, first.dataset.id), snap);
  } finally {
    store.close();
  }
});

test('a changed image is updated in place, its id kept; everything else stays unchanged', async () => {
  const dir = newDir();
  await vocFixture(dir);
  const store = newStore();
  try {
    const first = await importDataset(store, dir);
    const old = store.images.getByPath(first.dataset.id, 'JPEGImages/img2.png')!;
    writeFile(path.join(dir, 'JPEGImages', 'img2.png'), await encodeImage('png', 24, 18, 4, 99));
    const again = await importDataset(store, dir);
    assert.deepEqual(again.images, { found: 3, inserted: 0, updated: 1, unchanged: 2, failed: 0 });
    const now = store.images.getByPath(first.dataset.id, 'JPEGImages/img2.png')!;
    assert.equal(now.id, old.id);
    assert.equal(now.channels, 4);
    assert.notEqual(now.sha256, old.sha256);
    assert.equal(now.split, 'val');
  } finally {
    store.close();
  }
});

test('a broken XML and corrupt images in the middle of a folder: reported by name, the rest imported', async () => {
  const dir = newDir();
  await writeVocDevkit(
    dir,
    ['a', 'b', 'c', 'd', 'e'].map((id, i) => ({
      id,
      width: 16,
      height: 16,
      objects: [{ name: 'cat', box: box(i, i, i + 4, i + 4) }],
      split: 'train' as const,
    })),
  );
  const xml = path.join(dir, 'Annotations', 'b.xml');
  writeFile(xml, fs.readFileSync(xml, 'utf8').slice(0, 120)); // cut mid-element
  const garbage = path.join(dir, 'JPEGImages', 'c.png');
  writeFile(garbage, 'this is not a PNG');
  const truncated = path.join(dir, 'JPEGImages', 'd.png');
  const full = await encodeImage('png', 64, 64, 3, 7);
  writeFile(truncated, full.subarray(0, full.length >> 1));
  const before = hashTree(dir);
  const store = newStore();
  try {
    const r = await importDataset(store, dir);
    assert.deepEqual(r.images, { found: 5, inserted: 2, updated: 0, unchanged: 0, failed: 3 });
    const byFile = new Map(r.errors.map((e) => [e.file, e.message]));
    assert.deepEqual([...byFile.keys()].sort(), [garbage, truncated, xml].sort());
    for (const [file, message] of byFile) assert.ok(message.includes(file), `"${message}" names ${file}`);
    assert.match(byFile.get(xml)!, /truncated|ends inside/);
    assert.deepEqual(
      store.images.list(r.dataset.id).map((im) => im.relPath),
      ['JPEGImages/a.png', 'JPEGImages/e.png'],
    );
    assert.deepEqual(hashTree(dir), before);
  } finally {
    store.close();
  }
});

test('a folder where no image can be read: an error, nothing stored', async () => {
  const dir = newDir();
  writeFile(path.join(dir, 'cat', '1.png'), 'junk');
  writeFile(path.join(dir, 'dog', '2.png'), 'junk');
  const store = newStore();
  try {
    await assert.rejects(
      importDataset(store, dir),
      (e: Error) =>
        e instanceof ImportError && e.message.includes(dir) && /none of its 2 images/.test(e.message),
    );
    assert.deepEqual(store.datasets.list(), []);
  } finally {
    store.close();
  }
});

test('a folder that is no dataset: an error naming it', async () => {
  const dir = newDir();
  writeFile(path.join(dir, 'readme.md'), '# hi');
  const store = newStore();
  try {
    await assert.rejects(
      importDataset(store, dir),
      (e: Error) => e instanceof DatasetLayoutError && e.message.startsWith(dir),
    );
  } finally {
    store.close();
  }
});

test('the same name from another folder: refused with a hint to use --name; nothing stored is lost', async () => {
  const parentA = newDir();
  const parentB = newDir();
  const a = path.join(parentA, 'pets');
  const b = path.join(parentB, 'pets');
  await vocFixture(a);
  await vocFixture(b);
  const store = newStore();
  try {
    await importDataset(store, a);
    const snap = storeSnapshot(store);
    await assert.rejects(
      importDataset(store, b),
      (e: Error) =>
        e instanceof ImportError && /"pets" already exists/.test(e.message) && /--name/.test(e.message),
    );
    assert.deepEqual(storeSnapshot(store), snap);
    const other = await importDataset(store, b, { name: 'pets-b' });
    assert.equal(other.created, true);
    assert.equal(store.datasets.list().length, 2);
  } finally {
    store.close();
  }
});

test('--target makes a binary task of a VOC set; an unknown target is refused', async () => {
  const dir = newDir();
  await vocFixture(dir);
  const store = newStore();
  try {
    await assert.rejects(
      importDataset(store, dir, { name: 'x', target: 'horse' }),
      (e: Error) =>
        e instanceof ImportError && /--target horse/.test(e.message) && /cat, dog/.test(e.message),
    );
    assert.deepEqual(store.datasets.list(), []);
    const r = await importDataset(store, dir, { name: 'dogs', target: 'dog' });
    assert.deepEqual(r.dataset.classes, ['no-dog', 'dog']);
    assert.equal(r.dataset.targetClass, 'dog');
    const labels = Object.fromEntries(store.images.list(r.dataset.id).map((im) => [im.relPath, im.label]));
    assert.deepEqual(labels, {
      'JPEGImages/img1.png': 'dog',
      'JPEGImages/img2.png': 'dog',
      'JPEGImages/img3.png': 'no-dog',
    });
    // Re-importing without --target keeps the binary task.
    const again = await importDataset(store, dir, { name: 'dogs' });
    assert.equal(again.images.unchanged, 3);
    assert.equal(again.dataset.targetClass, 'dog');
  } finally {
    store.close();
  }
});

test('stratified split: per-label proportions, and re-import never moves an image between splits', async () => {
  const dir = newDir();
  const counts = { cat: 40, dog: 21, fox: 3 };
  let seed = 0;
  for (const [cls, count] of Object.entries(counts)) {
    for (let i = 0; i < count; i++) {
      writeFile(path.join(dir, cls, `${i}.png`), await encodeImage('png', 4, 4, 1, ++seed));
    }
  }
  const store = newStore();
  try {
    const r = await importDataset(store, dir, { name: 'animals', valFraction: 0.25, splitSeed: 9 });
    const id = r.dataset.id;
    for (const [cls, count] of Object.entries(counts)) {
      assert.equal(store.images.count(id, { label: cls, split: 'val' }), Math.round(count * 0.25), cls);
      assert.equal(store.images.count(id, { label: cls, split: 'train' }), count - Math.round(count * 0.25));
    }
    assert.equal(store.images.count(id, { split: null }), 0);
    const splitsBefore = new Map(store.images.list(id).map((im) => [im.relPath, im.split]));

    // New images arrive: the old ones keep their split, the new ones get one, per label.
    for (let i = 0; i < 8; i++)
      writeFile(path.join(dir, 'cat', `new${i}.png`), await encodeImage('png', 4, 4, 1, 500 + i));
    const again = await importDataset(store, dir, { name: 'animals', valFraction: 0.25, splitSeed: 9 });
    assert.equal(again.images.inserted, 8);
    assert.equal(again.splitsAssigned, 8);
    const after = store.images.list(id);
    for (const im of after) {
      if (splitsBefore.has(im.relPath)) assert.equal(im.split, splitsBefore.get(im.relPath), im.relPath);
    }
    assert.equal(after.filter((im) => im.relPath.includes('/new') && im.split === 'val').length, 2);
    // A different seed on re-import does not reshuffle either.
    const third = await importDataset(store, dir, { name: 'animals', valFraction: 0.5, splitSeed: 1 });
    assert.equal(third.splitsAssigned, 0);
  } finally {
    store.close();
  }
});

test('stratifiedSplit: deterministic per seed, stratified, independent of input order', () => {
  const items = Array.from({ length: 30 }, (_, i) => ({
    key: `k${i}`,
    label: i < 20 ? 'a' : i < 28 ? 'b' : null,
  }));
  const s1 = stratifiedSplit(items, 0.3, 4);
  const s2 = stratifiedSplit([...items].reverse(), 0.3, 4);
  assert.deepEqual(new Map([...s1].sort()), new Map([...s2].sort()));
  const val = (pred: (i: number) => boolean) =>
    items.filter((it, i) => pred(i) && s1.get(it.key) === 'val').length;
  assert.equal(
    val((i) => i < 20),
    6,
  );
  assert.equal(
    val((i) => i >= 20 && i < 28),
    2,
  );
  assert.equal(
    val((i) => i >= 28),
    1,
  );
  assert.notDeepEqual(stratifiedSplit(items, 0.3, 5), s1);
});

test("the generator's set: labels agree with <target>_*.txt flags, splits with ImageSets, masks stored", async () => {
  const dir = newDir();
  const summary = await generateDataset(dir, {
    images: 24,
    positives: 10,
    width: 32,
    height: 32,
    shapesPerImage: 3,
    seed: 11,
    split: { train: 0.5, val: 0.25, test: 0.25 },
  });
  const before = hashTree(dir);
  const store = newStore();
  try {
    const r = await importDataset(store, dir, { name: 'gen' });
    assert.equal(r.dataset.kind, 'synthetic');
    assert.equal(r.dataset.targetClass, 'triangle');
    assert.deepEqual(r.dataset.classes, ['no-triangle', 'triangle']);
    assert.equal(r.masks, 24);
    assert.equal(r.objects, summary.positives);
    const images = new Map(
      store.images.list(r.dataset.id).map((im) => [path.basename(im.relPath, '.png'), im]),
    );
    const main = path.join(dir, 'ImageSets', 'Main');
    for (const split of ['train', 'val', 'test'] as const) {
      const file = path.join(main, `triangle_${split}.txt`);
      const lines = parseImageSet(fs.readFileSync(file, 'utf8'), file);
      assert.equal(lines.length, summary.splits[split].images);
      for (const { id, flag } of lines) {
        const im = images.get(id)!;
        assert.equal(im.label, flag === 1 ? 'triangle' : 'no-triangle', id);
        assert.equal(im.split, split, id);
        const boxes = store.objects.list(im.id, { source: GROUND_TRUTH });
        assert.equal(boxes.length > 0, flag === 1, `${id}: boxes only on positives`);
      }
    }
    const meta = r.dataset.meta as { generator?: { seed?: number } };
    assert.equal(meta.generator?.seed, 11);
    assert.deepEqual(hashTree(dir), before);
  } finally {
    store.close();
  }
});

test('progress is reported up to the total', async () => {
  const dir = newDir();
  await vocFixture(dir);
  const store = newStore();
  try {
    const calls: [number, number][] = [];
    await importDataset(store, dir, { onProgress: (d, t) => calls.push([d, t]) });
    assert.deepEqual(calls[0], [0, 3]);
    assert.deepEqual(calls.at(-1), [3, 3]);
  } finally {
    store.close();
  }
});
