import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { DatasetLayoutError, scanDataset } from '../../../src/data/import/scan.js';
import { generateDataset } from '../../../src/data/synthetic/generate.js';
import { box, encodeImage, removeDir, tempDir, writeFile, writeVocDevkit } from './fixtures.js';

const root = tempDir();
after(() => removeDir(root));
let n = 0;
const newDir = () => path.join(root, `d${++n}`);

const cat = (x0: number) => ({ name: 'cat', box: box(x0, 2, x0 + 5, 9) });

test('a VOC devkit folder: annotations, masks and ImageSets splits per image', async () => {
  const dir = newDir();
  await writeVocDevkit(dir, [
    { id: '2007_000001', width: 16, height: 12, objects: [cat(1)], split: 'train', mask: true },
    { id: '2007_000002', width: 16, height: 12, objects: [cat(3)], split: 'val' },
  ]);
  writeFile(path.join(dir, 'JPEGImages', '2007_000003.png'), await encodeImage('png', 8, 8, 3));
  const scan = scanDataset(dir);
  assert.equal(scan.layout, 'voc');
  assert.equal(scan.root, dir);
  assert.deepEqual(scan.images, [
    {
      id: '2007_000001',
      relPath: 'JPEGImages/2007_000001.png',
      annotationRelPath: 'Annotations/2007_000001.xml',
      classMaskRelPath: 'SegmentationClass/2007_000001.png',
      split: 'train',
    },
    {
      id: '2007_000002',
      relPath: 'JPEGImages/2007_000002.png',
      annotationRelPath: 'Annotations/2007_000002.xml',
      split: 'val',
    },
    // No annotation and no split: kept, the importer decides.
    { id: '2007_000003', relPath: 'JPEGImages/2007_000003.png' },
  ]);
  assert.deepEqual(scan.warnings, []);
});

test('a devkit below VOCdevkit/VOC2007 is found from the folder above it', async () => {
  const dir = newDir();
  const voc = path.join(dir, 'VOCdevkit', 'VOC2007');
  await writeVocDevkit(voc, [{ id: 'a', width: 16, height: 12, objects: [cat(1)] }]);
  for (const given of [dir, path.join(dir, 'VOCdevkit'), voc]) {
    const scan = scanDataset(given);
    assert.equal(scan.root, voc, `from ${given}`);
    assert.equal(scan.layout, 'voc');
    assert.equal(scan.images.length, 1);
  }
});

test('an annotation without its image is a warning naming the file, not an error', async () => {
  const dir = newDir();
  await writeVocDevkit(dir, [{ id: 'a', width: 16, height: 12, objects: [cat(1)] }]);
  fs.copyFileSync(path.join(dir, 'Annotations', 'a.xml'), path.join(dir, 'Annotations', 'orphan.xml'));
  const scan = scanDataset(dir);
  assert.equal(scan.images.length, 1);
  assert.equal(scan.warnings.length, 1);
  assert.equal(scan.warnings[0].file, path.join(dir, 'Annotations', 'orphan.xml'));
  assert.match(scan.warnings[0].message, /no image with this id/);
});

test('Annotations/ without JPEGImages/ is an error naming the folder', () => {
  const dir = newDir();
  fs.mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
  assert.throws(
    () => scanDataset(dir),
    (e: Error) => e instanceof DatasetLayoutError && e.message.includes(dir) && /JPEGImages/.test(e.message),
  );
});

test('a flat folder of images with same-named .xml files', async () => {
  const dir = newDir();
  writeFile(path.join(dir, 'b.jpg'), await encodeImage('jpeg', 8, 8, 3));
  writeFile(path.join(dir, 'a.png'), await encodeImage('png', 8, 8, 3));
  writeFile(path.join(dir, 'a.xml'), '<annotation/>');
  writeFile(path.join(dir, 'notes.txt'), 'not an image');
  const scan = scanDataset(dir);
  assert.equal(scan.layout, 'flat');
  assert.deepEqual(scan.images, [
    { id: 'a', relPath: 'a.png', annotationRelPath: 'a.xml' },
    { id: 'b', relPath: 'b.jpg' },
  ]);
});

test('class-per-folder: labels from folder names, classes sorted, no splits', async () => {
  const dir = newDir();
  const png = await encodeImage('png', 8, 8, 3);
  for (const f of ['dog/1.png', 'cat/1.png', 'cat/2.PNG', 'cat/readme.txt'])
    writeFile(path.join(dir, f), png);
  fs.mkdirSync(path.join(dir, 'empty'));
  const scan = scanDataset(dir);
  assert.equal(scan.layout, 'folder');
  assert.deepEqual(scan.classes, ['cat', 'dog']);
  assert.deepEqual(scan.images, [
    { id: 'cat/1', relPath: 'cat/1.png', label: 'cat' },
    { id: 'cat/2', relPath: 'cat/2.PNG', label: 'cat' },
    { id: 'dog/1', relPath: 'dog/1.png', label: 'dog' },
  ]);
});

test('class-per-folder under split folders: train/<class>, validation/<class>, test/<class>', async () => {
  const dir = newDir();
  const png = await encodeImage('png', 8, 8, 3);
  for (const f of ['train/cat/1.png', 'train/dog/2.png', 'validation/cat/3.png', 'test/bird/4.png']) {
    writeFile(path.join(dir, f), png);
  }
  const scan = scanDataset(dir);
  assert.equal(scan.layout, 'folder');
  assert.deepEqual(scan.classes, ['bird', 'cat', 'dog']);
  const byId = Object.fromEntries(scan.images.map((i) => [i.id, [i.label, i.split]]));
  assert.deepEqual(byId, {
    'train/cat/1': ['cat', 'train'],
    'train/dog/2': ['dog', 'train'],
    'validation/cat/3': ['cat', 'val'],
    'test/bird/4': ['bird', 'test'],
  });
});

test("the generator's output: binary classes, target, labels from <target>_<split>.txt", async () => {
  const dir = newDir();
  const summary = await generateDataset(dir, {
    images: 12,
    positives: 5,
    width: 32,
    height: 32,
    shapesPerImage: 3,
    seed: 5,
  });
  const scan = scanDataset(dir);
  assert.equal(scan.layout, 'synthetic');
  assert.equal(scan.targetClass, 'triangle');
  assert.deepEqual(scan.classes, ['no-triangle', 'triangle']);
  assert.equal(scan.images.length, 12);
  assert.equal(scan.images.filter((i) => i.label === 'triangle').length, summary.positives);
  assert.ok(scan.images.every((i) => i.classMaskRelPath && i.annotationRelPath && i.split));
  assert.equal(scan.images.filter((i) => i.split === 'val').length, summary.splits.val.images);
  assert.equal((scan.generator as { seed: number }).seed, 5);
});

test('a folder that is no dataset: an error naming the folder and the layouts it looked for', () => {
  const dir = newDir();
  writeFile(path.join(dir, 'notes.txt'), 'hello');
  writeFile(path.join(dir, 'sub', 'more.txt'), 'hello');
  assert.throws(
    () => scanDataset(dir),
    (e: Error) =>
      e instanceof DatasetLayoutError &&
      e.message.startsWith(`${dir}: no dataset found`) &&
      /VOC devkit/.test(e.message),
  );
  assert.throws(() => scanDataset(path.join(dir, 'missing')), /missing: no such folder/);
  assert.throws(() => scanDataset(path.join(dir, 'notes.txt')), /notes\.txt: not a folder/);
});
