import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { ExportError, exportDataset, exportIds } from '../../../src/data/export/export.js';
import { importDataset } from '../../../src/data/import/import.js';
import { generateDataset } from '../../../src/data/synthetic/generate.js';
import { parseImageSet } from '../../../src/data/voc/imagesets.js';
import { GROUND_TRUTH, type ImageRecord, openStore, type Store } from '../../../src/store/index.js';
import {
  box,
  encodeImage,
  hashTree,
  removeDir,
  storeSnapshot,
  tempDir,
  writeFile,
  writeVocDevkit,
} from '../import/fixtures.js';

const root = tempDir();
after(() => removeDir(root));
let n = 0;
const newDir = () => path.join(root, `d${++n}`);
const newStore = (): Store => openStore(path.join(newDir(), 'xwb.db'));

/** The id an image has in a VOC folder: its file stem. */
const stem = (im: ImageRecord) => path.posix.basename(im.relPath, path.posix.extname(im.relPath));

async function maskPixels(file: string): Promise<Buffer> {
  return sharp(file).extractChannel(0).raw().toBuffer();
}

/** Everything about a dataset that must survive export + import, keyed by image id. */
async function content(store: Store, datasetId: number, sourcePath: string) {
  const out = new Map<string, unknown>();
  for (const im of store.images.list(datasetId, { limit: 100_000 })) {
    const mask = store.masks.get(im.id, 'class', GROUND_TRUTH);
    const maskFile =
      mask && 'relPath' in mask.content ? path.join(sourcePath, mask.content.relPath) : undefined;
    out.set(stem(im), {
      sha256: im.sha256,
      size: [im.width, im.height, im.channels, im.format],
      label: im.label,
      split: im.split,
      boxes: store.objects.list(im.id, { source: GROUND_TRUTH }).map((o) => o.object),
      mask: maskFile ? await maskPixels(maskFile) : null,
    });
  }
  return out;
}

test('round trip: generate → import → export → import under another name gives the same dataset', async () => {
  const genDir = newDir();
  await generateDataset(genDir, {
    images: 16,
    positives: 6,
    width: 32,
    height: 32,
    shapesPerImage: 3,
    seed: 21,
    annotateDistractors: true,
    split: { train: 0.5, val: 0.25, test: 0.25 },
  });
  const sourceHashes = hashTree(genDir);
  const store = newStore();
  try {
    const a = await importDataset(store, genDir, { name: 'orig' });
    const outDir = path.join(newDir(), 'exported');
    const report = exportDataset(store, a.dataset.id, outDir);
    assert.deepEqual(report, {
      outDir,
      images: 16,
      annotations: 16,
      masks: 16,
      splits: {
        train: store.images.count(a.dataset.id, { split: 'train' }),
        val: store.images.count(a.dataset.id, { split: 'val' }),
        test: store.images.count(a.dataset.id, { split: 'test' }),
      },
    });
    assert.deepEqual(hashTree(genDir), sourceHashes, 'export must not modify source files');
    const exportedHashes = hashTree(outDir);

    const b = await importDataset(store, outDir, { name: 'back' });
    assert.deepEqual(b.errors, []);
    assert.equal(b.dataset.kind, a.dataset.kind);
    assert.deepEqual(
      b.dataset.meta.generator,
      a.dataset.meta.generator,
      'the generator record travels with the set',
    );
    assert.ok(a.dataset.meta.generator, 'a generated set records how it was made');
    assert.deepEqual(b.dataset.classes, a.dataset.classes);
    assert.equal(b.dataset.targetClass, a.dataset.targetClass);
    const before = await content(store, a.dataset.id, genDir);
    const afterRoundTrip = await content(store, b.dataset.id, outDir);
    assert.equal(afterRoundTrip.size, 16);
    assert.deepEqual(afterRoundTrip, before);
    assert.ok(
      [...before.values()].some((c) => (c as { boxes: unknown[] }).boxes.length > 1),
      'the set has several boxes per image (distractors annotated)',
    );
    assert.deepEqual(hashTree(outDir), exportedHashes, 'import of the export must not modify it');
  } finally {
    store.close();
  }
});

test('the exported image sets: split lists and per-class flags agree with the store (0 for difficult only)', async () => {
  const dir = newDir();
  await writeVocDevkit(dir, [
    {
      id: 'a',
      width: 16,
      height: 16,
      objects: [{ name: 'cat', box: box(1, 1, 5, 5), difficult: true }],
      split: 'train',
    },
    {
      id: 'b',
      width: 16,
      height: 16,
      objects: [
        { name: 'dog', box: box(2, 2, 6, 6) },
        { name: 'cat', box: box(6, 6, 9, 9) },
      ],
      split: 'val',
    },
    { id: 'c', width: 16, height: 16, objects: [], split: 'test' },
  ]);
  const store = newStore();
  try {
    const r = await importDataset(store, dir, { name: 'pets' });
    const out = path.join(newDir(), 'out');
    exportDataset(store, r.dataset.id, out);
    const read = (name: string) => {
      const f = path.join(out, 'ImageSets', 'Main', name);
      return parseImageSet(fs.readFileSync(f, 'utf8'), f);
    };
    assert.deepEqual(read('train.txt'), [{ id: 'a' }]);
    assert.deepEqual(read('val.txt'), [{ id: 'b' }]);
    assert.deepEqual(read('test.txt'), [{ id: 'c' }]);
    assert.deepEqual(read('trainval.txt'), [{ id: 'a' }, { id: 'b' }]);
    assert.deepEqual(read('cat_trainval.txt'), [
      { id: 'a', flag: 0 },
      { id: 'b', flag: 1 },
    ]);
    assert.deepEqual(read('dog_test.txt'), [{ id: 'c', flag: -1 }]);
    assert.equal(fs.existsSync(path.join(out, 'SegmentationClass')), false, 'no masks, no mask folder');
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'xwb-dataset.json'), 'utf8'));
    assert.equal(manifest.format, 'xwb-dataset');
    assert.deepEqual(manifest.classes, ['cat', 'dog']);
  } finally {
    store.close();
  }
});

test('a class-per-folder dataset exports with folder-qualified ids and comes back with its labels', async () => {
  const dir = newDir();
  writeFile(path.join(dir, 'train', 'cat', '1.png'), await encodeImage('png', 6, 6, 3, 1));
  writeFile(path.join(dir, 'train', 'dog', '1.png'), await encodeImage('png', 6, 6, 3, 2));
  writeFile(path.join(dir, 'val', 'dog', '2.jpg'), await encodeImage('jpeg', 6, 6, 3, 3));
  const store = newStore();
  try {
    const a = await importDataset(store, dir, { name: 'pets' });
    const out = path.join(newDir(), 'out');
    exportDataset(store, a.dataset.id, out);
    assert.deepEqual(fs.readdirSync(path.join(out, 'JPEGImages')).sort(), [
      'train__cat__1.png',
      'train__dog__1.png',
      'val__dog__2.jpg',
    ]);
    const b = await importDataset(store, out, { name: 'pets-again' });
    assert.deepEqual(b.dataset.classes, ['cat', 'dog']);
    const view = (id: number) =>
      store.images
        .list(id)
        .map((im) => [im.sha256, im.label, im.split])
        .sort();
    assert.deepEqual(view(b.dataset.id), view(a.dataset.id));
  } finally {
    store.close();
  }
});

test('exportIds: file stems, folders joined with __, JPEGImages/ dropped', () => {
  assert.deepEqual(
    exportIds([{ relPath: 'JPEGImages/000001.png' }, { relPath: 'cat/x.y.jpg' }, { relPath: 'a.bmp' }]),
    ['000001', 'cat__x.y', 'a'],
  );
});

test('exporting into a non-empty folder is refused and the folder is left as it was', async () => {
  const dir = newDir();
  await writeVocDevkit(dir, [{ id: 'a', width: 8, height: 8, objects: [] }]);
  const store = newStore();
  try {
    const r = await importDataset(store, dir, { name: 'x' });
    const out = newDir();
    writeFile(path.join(out, 'keep.txt'), 'mine');
    assert.throws(
      () => exportDataset(store, r.dataset.id, out),
      (e: Error) => e instanceof ExportError && e.message.startsWith(out) && /not empty/.test(e.message),
    );
    assert.deepEqual([...hashTree(out).keys()], ['keep.txt']);
    assert.deepEqual(
      fs.readdirSync(path.dirname(out)).filter((f) => f.includes('partial')),
      [],
    );
    // An existing empty folder is fine: it is replaced by the export.
    const empty = newDir();
    fs.mkdirSync(empty);
    exportDataset(store, r.dataset.id, empty);
    assert.ok(fs.existsSync(path.join(empty, 'JPEGImages', 'a.png')));
  } finally {
    store.close();
  }
});

test('an export that fails half-way leaves no folder at outDir and no temporary folder behind', async () => {
  const dir = newDir();
  await writeVocDevkit(
    dir,
    ['a', 'b', 'c', 'd'].map((id) => ({ id, width: 8, height: 8, objects: [] })),
  );
  const store = newStore();
  try {
    const r = await importDataset(store, dir, { name: 'x' });
    const snap = storeSnapshot(store);
    const missing = path.join(dir, 'JPEGImages', 'c.png');
    fs.rmSync(missing);
    const parent = newDir();
    fs.mkdirSync(parent);
    const out = path.join(parent, 'export');
    let progress = 0;
    assert.throws(
      () => exportDataset(store, r.dataset.id, out, { onProgress: (d) => (progress = d) }),
      (e: Error) => e instanceof ExportError && e.message.includes(missing) && /missing/.test(e.message),
    );
    assert.equal(progress, 2, 'it failed half-way, after two images were written');
    assert.deepEqual(fs.readdirSync(parent), []);
    assert.deepEqual(storeSnapshot(store), snap, 'a failed export changes nothing in the store');
  } finally {
    store.close();
  }
});

test('an unknown dataset id is an error naming the store', () => {
  const store = newStore();
  try {
    assert.throws(
      () => exportDataset(store, 42, path.join(newDir(), 'out')),
      (e: Error) => e.message.includes('no dataset with id 42') && e.message.includes(store.path),
    );
  } finally {
    store.close();
  }
});

test('a class-per-folder set exported as VOC comes back as a folder set with its labels and class order', async () => {
  const dir = newDir();
  for (const [cls, shade] of [
    ['zebra', 30],
    ['apple', 200],
  ] as const) {
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < 3; i++) {
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: shade, g: i, b: 0 } } })
        .png()
        .toFile(path.join(dir, cls, `${i}.png`));
    }
  }
  const store = newStore();
  try {
    const a = await importDataset(store, dir, { name: 'fruit' });
    assert.equal(a.dataset.kind, 'folder');
    const out = path.join(newDir(), 'voc');
    exportDataset(store, a.dataset.id, out);
    const b = await importDataset(store, out, { name: 'fruit-again' });
    assert.equal(b.dataset.kind, 'folder');
    assert.deepEqual(b.dataset.classes, a.dataset.classes);
    const labels = (id: number) => store.images.list(id).map((im) => im.label);
    assert.deepEqual(labels(b.dataset.id).sort(), labels(a.dataset.id).sort());
  } finally {
    store.close();
  }
});
