/**
 * The import's reader threads (src/data/import/read-pool.ts): an import whose files are read on reader threads
 * writes exactly the rows, and reports exactly the warnings and errors, of one read on the main thread alone,
 * damaged files included; and re-importing through the threads writes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { importDataset } from '../../../src/data/import/import.js';
import { readAllImages, readerThreads } from '../../../src/data/import/read-pool.js';
import { scanDataset } from '../../../src/data/import/scan.js';
import { generateDataset } from '../../../src/data/synthetic/generate.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { encodeImage, removeDir, storeSnapshot, tempDir, writeFile } from './fixtures.js';

const root = tempDir();
const data = path.join(root, 'data');
after(() => removeDir(root));

/** Files damaged or changed on purpose, spread over the list so that different threads read them. */
const corruptImage = path.join(data, 'JPEGImages', '000040.png');
const badXml = path.join(data, 'Annotations', '000150.xml');
const repairedXml = path.join(data, 'Annotations', '000210.xml');
const jpeg = path.join(data, 'JPEGImages', '000300x.jpg');
const IMAGES = 300; // five slices of 64: every thread gets some

before(async () => {
  await generateDataset(data, { images: IMAGES, width: 32, height: 32, shapesPerImage: 3, seed: 5 });
  // A PNG cut short: its proof fails, sharp words the refusal.
  const png = fs.readFileSync(corruptImage);
  writeFile(corruptImage, png.subarray(0, png.length - 40));
  // An annotation cut mid-element: refused, naming the file.
  const xml = fs.readFileSync(badXml, 'utf8');
  writeFile(badXml, xml.slice(0, xml.indexOf('<size>') + 9));
  // An annotation whose box reaches beyond the image: clamped, with a warning naming the file and the object.
  writeFile(
    repairedXml,
    fs
      .readFileSync(repairedXml, 'utf8')
      .replace(
        '</annotation>',
        '<object><name>square</name><bndbox><xmin>20</xmin><ymin>20</ymin><xmax>90</xmax><ymax>40</ymax></bndbox></object></annotation>',
      ),
  );
  // A JPEG, which goes through sharp in whichever thread reads it.
  writeFile(jpeg, await encodeImage('jpeg', 20, 12, 3, 3));
});

/** A fresh store whose clock advances one second per call, so both imports write the same timestamps. */
function newStore(name: string): Store {
  let t = Date.UTC(2024, 0, 1);
  return openStore(path.join(root, `${name}.db`), {
    now: () => {
      t += 1000;
      return new Date(t).toISOString();
    },
  });
}

test('reader threads: the same rows, warnings and errors as the main thread alone; a re-import writes nothing', async () => {
  const alone = newStore('alone');
  const threaded = newStore('threaded');
  try {
    const a = await importDataset(alone, data, { name: 'set', workers: 0 });
    const b = await importDataset(threaded, data, { name: 'set', workers: 2 });
    assert.deepEqual(a.images, {
      found: IMAGES + 1,
      inserted: IMAGES - 1,
      updated: 0,
      unchanged: 0,
      failed: 2,
    });
    assert.deepEqual(
      a.errors.map((e) => e.file),
      [corruptImage, badXml],
      'errors name the files, in the order of the images',
    );
    for (const e of a.errors) assert.ok(e.message.startsWith(e.file), e.message);
    assert.ok(
      a.warnings.some((w) => w.file === repairedXml && w.object !== undefined),
      'the clamped box is reported',
    );
    assert.deepEqual(b, a);
    assert.deepEqual(storeSnapshot(threaded), storeSnapshot(alone));

    const snap = storeSnapshot(threaded);
    const again = await importDataset(threaded, data, { name: 'set', workers: 2 });
    assert.deepEqual(again.images, {
      found: IMAGES + 1,
      inserted: 0,
      updated: 0,
      unchanged: IMAGES - 1,
      failed: 2,
    });
    assert.equal(again.splitsAssigned, 0);
    assert.deepEqual(again.errors, a.errors);
    assert.deepEqual(again.warnings, a.warnings);
    assert.deepEqual(storeSnapshot(threaded), snap);
  } finally {
    alone.close();
    threaded.close();
  }
});

test('reader threads are really used, and every outcome comes back in the list order', async () => {
  const scan = scanDataset(data);
  const jobs = scan.images.map((img) => ({
    relPath: img.relPath,
    ...(img.annotationRelPath ? { annotationRelPath: img.annotationRelPath } : {}),
  }));
  const progress: number[] = [];
  const here = await readAllImages(scan.root, jobs, { workers: 0 });
  const there = await readAllImages(scan.root, jobs, { workers: 2, onProgress: (d) => progress.push(d) });
  assert.equal(here.workers, 0);
  assert.equal(there.workers, 2);
  assert.deepEqual(there.threadFailures, []);
  assert.deepEqual(there.outcomes, here.outcomes);
  assert.equal(progress.at(-1), jobs.length);
});

test('a reader thread that fails loses nothing: its slices are read on the main thread, and the failure named', async () => {
  const scan = scanDataset(data);
  const jobs = scan.images.map((img) => ({ relPath: img.relPath }));
  const here = await readAllImages(scan.root, jobs, { workers: 0 });
  let started = 0;
  const r = await readAllImages(scan.root, jobs, {
    workers: 3,
    spawnReader: () => {
      started++;
      if (started === 1) throw new Error('no threads here');
      // One dies at once, one after it has taken its slices.
      return new Worker(
        started === 2
          ? 'throw new Error("boom")'
          : 'require("node:worker_threads").parentPort.once("message", () => process.exit(3))',
        { eval: true },
      );
    },
  });
  assert.deepEqual(r.outcomes, here.outcomes);
  assert.equal(r.workers, 2);
  assert.deepEqual(r.threadFailures.toSorted(), [
    'reader thread could not start: no threads here',
    'reader thread ended (exit code 3)',
    'reader thread failed: boom',
  ]);
});

test("thread count: none by default; 'auto' none for a few hundred images, one per core beyond the first for thousands", () => {
  assert.equal(readerThreads(10_000, undefined), 0);
  assert.equal(readerThreads(300, 'auto'), 0);
  assert.equal(readerThreads(999, 'auto'), 0);
  assert.equal(readerThreads(10_000, 'auto'), Math.min(availableParallelism(), 20) - 1);
  assert.equal(readerThreads(1_000, 'auto'), Math.min(availableParallelism(), 2) - 1);
  assert.equal(readerThreads(100, 5), 2, 'never more threads than slices');
  assert.throws(() => readerThreads(100, -1), /whole number/);
});
