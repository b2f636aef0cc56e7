/**
 * Import against bad and hostile input (issue 11): every case is a real file in a temp folder, imported into a
 * real store file, and checked for the exact outcome (what was stored, what was skipped and why).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import type { Io } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { cliStorePath } from '../../../src/cli/store.js';
import { decodeBmp } from '../../../src/data/bmp.js';
import { importDataset } from '../../../src/data/import/import.js';
import { scanDataset } from '../../../src/data/import/scan.js';
import { DEFAULT_MAX_PIXELS } from '../../../src/data/limits.js';
import { parseVoc } from '../../../src/data/voc/parse.js';
import { GROUND_TRUTH, openStore, type Store } from '../../../src/store/index.js';
import { decodeImage } from '../../../src/training/data/decode.js';
import { placeImage } from '../../../src/training/data/placement.js';
import {
  box,
  encodeBmp24,
  encodeImage,
  pixels,
  removeDir,
  storeSnapshot,
  tempDir,
  writeFile,
  writeVocDevkit,
} from './fixtures.js';

const root = tempDir();
after(() => removeDir(root));
let n = 0;
const newDir = () => path.join(root, `d${++n}`);
const newStore = (): Store => openStore(path.join(newDir(), 'xwb.db'));

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const store = newStore();
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

const xml = (
  filename: string | null,
  objects: string,
  size = '<size><width>20</width><height>16</height></size>',
) =>
  `<annotation>${filename === null ? '' : `<filename>${filename}</filename>`}${size}${objects}</annotation>`;
const obj = (name: string, x0 = 2, y0 = 2, x1 = 8, y1 = 8, inner = '') =>
  `<object><name>${name}</name><bndbox><xmin>${x0}</xmin><ymin>${y0}</ymin><xmax>${x1}</xmax><ymax>${y1}</ymax></bndbox>${inner}</object>`;

/** A BMP with a BITMAPINFOHEADER and nothing after it: what a 54-byte hostile file looks like. */
function bmpHeader(width: number, height: number, bits: number, compression: number): Buffer {
  const b = Buffer.alloc(54);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(54, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(bits, 28);
  b.writeUInt32LE(compression, 30);
  return b;
}

test('BMPs: import accepts exactly what training decodes; compressed, odd-depth and lying headers are skipped', async () => {
  const dir = newDir();
  const good = encodeBmp24(6, 4, pixels(6, 4, 3, 7));
  const rle = Buffer.from(good);
  rle.writeUInt32LE(1, 30); // BI_RLE8 on 24-bit data
  const cases: [string, Buffer, RegExp][] = [
    ['rle8.bmp', rle, /compression 1 \(RLE8\) is not supported; convert it to PNG/],
    ['jpeg.bmp', bmpHeader(60000, 60000, 24, 4), /compression 4 \(embedded JPEG\) is not supported/],
    [
      'huge.bmp',
      bmpHeader(60000, 60000, 24, 0),
      /3600\.0 megapixels, more than the limit of 40\.0 megapixels/,
    ],
    [
      'lying.bmp',
      bmpHeader(3000, 2000, 24, 0),
      /pixel data is cut short \(54 bytes for 3000x2000 at 24 bits\)/,
    ],
    ['onebit.bmp', bmpHeader(8, 8, 1, 0), /1 bits per pixel is not supported/],
  ];
  writeFile(path.join(dir, 'ok', 'good.bmp'), good);
  for (const [name, buf] of cases) writeFile(path.join(dir, 'ok', name), buf);
  await withStore(async (store) => {
    const r = await importDataset(store, dir);
    assert.deepEqual(
      store.images.list(r.dataset.id).map((im) => [im.relPath, im.width, im.height, im.format]),
      [['ok/good.bmp', 6, 4, 'bmp']],
    );
    assert.equal(r.errors.length, cases.length);
    for (const [name, buf, reason] of cases) {
      const file = path.join(dir, 'ok', name);
      const e = r.errors.find((x) => x.file === file);
      assert.ok(e, `${name} is named among the skipped files`);
      assert.ok(e.message.startsWith(`${file}: cannot read image: BMP: `), e.message);
      assert.match(e.message, reason);
      // The same file is refused by the decoder training uses: import and training agree.
      assert.throws(() => decodeBmp(buf, file));
    }
    // And the accepted one trains: the training decoder reads it at the stored size.
    const im = store.images.list(r.dataset.id)[0];
    const pixelsOut = await decodeImage({
      file: path.join(dir, im.relPath),
      sha256: im.sha256,
      placement: placeImage(im.width, im.height, 8, 'stretch'),
      kernel: 'linear',
      padValue: 1,
    });
    assert.equal(pixelsOut.length, 8 * 8 * 3);
  });
});

test('a decompression bomb (16000² PNG, 0.8 MB) is refused by the pixel limit before decoding; the limit is configurable', async () => {
  const dir = newDir();
  const bomb = await sharp({ create: { width: 16000, height: 16000, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
  assert.ok(bomb.length < 2_000_000, `the bomb is small on disk (${bomb.length} bytes)`);
  writeFile(path.join(dir, 'a', 'bomb.png'), bomb);
  writeFile(path.join(dir, 'a', 'small.png'), await encodeImage('png', 30, 20, 3, 2));
  const bombFile = path.join(dir, 'a', 'bomb.png');
  await withStore(async (store) => {
    const r = await importDataset(store, dir, { name: 'bomb' });
    assert.deepEqual(
      store.images.list(r.dataset.id).map((im) => im.relPath),
      ['a/small.png'],
    );
    assert.deepEqual(r.errors, [
      {
        file: bombFile,
        message:
          `${bombFile}: cannot read image: 16000×16000 is 256.0 megapixels, more than the limit of 40.0 megapixels ` +
          '(raise it with --max-pixels if the image is genuine)',
      },
    ]);
    // The pixel-limit message is produced from the header, before any decode (768 MB for this one).
    assert.equal(DEFAULT_MAX_PIXELS, 40_000_000);
    // A lower limit refuses the 600-pixel image too, naming it (and since nothing else is left, imports nothing).
    const small = path.join(dir, 'a', 'small.png');
    await assert.rejects(
      importDataset(store, dir, { name: 'tiny', maxPixels: 599 }),
      // The first problem named is whichever file the folder listing gave first.
      (e: Error) =>
        e.message.includes('none of its 2 images could be read') &&
        (e.message.includes(bombFile) || e.message.includes(small)),
    );
    const r2 = await importDataset(store, path.join(dir), { name: 'bomb', maxPixels: 600 });
    assert.equal(r2.images.unchanged, 1);
    assert.ok(!r2.errors.some((e) => e.file === small));
  });
});

test('symlinks inside the dataset are followed; links leaving it, broken links, FIFOs and folders are named and skipped', async () => {
  const dir = newDir();
  const data = path.join(dir, 'voc');
  await writeVocDevkit(data, [
    { id: 'a', width: 20, height: 16, objects: [{ name: 'cat', box: box(1, 1, 9, 9) }] },
  ]);
  const images = path.join(data, 'JPEGImages');
  const outside = path.join(dir, 'outside.png');
  writeFile(outside, await encodeImage('png', 20, 16, 3, 5));
  writeFile(path.join(data, 'extra', 'b.png'), await encodeImage('png', 20, 16, 3, 6));
  fs.symlinkSync(path.join('..', 'extra', 'b.png'), path.join(images, 'b.png')); // inside: followed
  fs.copyFileSync(path.join(data, 'Annotations', 'a.xml'), path.join(data, 'extra', 'b.xml'));
  fs.symlinkSync(path.join(data, 'extra', 'b.xml'), path.join(data, 'Annotations', 'b.xml'));
  fs.symlinkSync(outside, path.join(images, 'c.png')); // outside: refused
  fs.symlinkSync(path.join(images, 'nowhere.png'), path.join(images, 'd.png')); // broken
  execFileSync('mkfifo', [path.join(images, 'e.jpg')]); // would block a read forever
  fs.mkdirSync(path.join(images, 'f.jpg'));
  fs.mkdirSync(path.join(images, 'more'));
  await withStore(async (store) => {
    const r = await importDataset(store, data, { name: 'links' });
    const stored = store.images.list(r.dataset.id);
    assert.deepEqual(
      stored.map((im) => im.relPath),
      ['JPEGImages/a.png', 'JPEGImages/b.png'],
    );
    // The linked annotation was read too: b has its box.
    assert.equal(store.objects.list(stored[1].id, { source: GROUND_TRUTH }).length, 1);
    const skipped = Object.fromEntries(r.errors.map((e) => [path.basename(e.file), e.message]));
    assert.deepEqual(Object.keys(skipped).sort(), ['c.png', 'd.png', 'e.jpg', 'f.jpg']);
    assert.match(
      skipped['c.png'],
      /a symbolic link to .*outside\.png, outside the dataset folder .*; links are followed only inside it/,
    );
    assert.match(skipped['d.png'], /a symbolic link whose target does not exist; skipped/);
    assert.match(skipped['e.jpg'], /a named pipe \(FIFO\), not a file; skipped/);
    assert.match(skipped['f.jpg'], /a folder where files are read/);
    for (const e of r.errors) assert.ok(e.message.startsWith(e.file), e.message);
    // A folder with an ordinary name is a warning, not a skipped file.
    assert.ok(
      r.warnings.some(
        (w) => w.file === path.join(images, 'more') && /a folder where files are read/.test(w.message),
      ),
    );
  });
});

test('an <object> nested inside an <object> is read as an object of its own, with a warning', () => {
  const file = '/data/nested.xml';
  const r = parseVoc(
    xml(
      'a.png',
      obj(
        'person',
        1,
        1,
        10,
        10,
        `${obj('dog', 2, 2, 5, 5, obj('cat', 3, 3, 4, 4))}<part><name>hand</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></part>`,
      ),
    ),
    file,
  );
  assert.deepEqual(
    r.annotation.objects.map((o) => [o.name, o.box, o.parts?.map((p) => p.name) ?? [], o.attributes]),
    [
      ['person', box(0, 0, 10, 10), ['hand'], undefined],
      ['dog', box(1, 1, 5, 5), [], undefined],
      ['cat', box(2, 2, 4, 4), [], undefined],
    ],
  );
  assert.deepEqual(
    r.warnings.map((w) => [w.file, w.object, w.message]),
    [
      [
        file,
        1,
        'an <object> (line 1) is nested inside the <object> of line 1; VOC objects are not nested, so it is read as object 1 of its own',
      ],
      [
        file,
        2,
        'an <object> (line 1) is nested inside the <object> of line 1; VOC objects are not nested, so it is read as object 2 of its own',
      ],
    ],
  );
});

test('class names over 200 characters are refused naming the file; over-long text values are dropped', async () => {
  const file = '/data/long.xml';
  assert.throws(
    () => parseVoc(xml('a.png', obj('x'.repeat(10 * 1024 * 1024))), file),
    (e: Error) =>
      e.message.startsWith(`${file}:1: object 0 has a <name> of 10485760 characters`) &&
      e.message.includes('class names may have at most 200') &&
      e.message.length < 300,
  );
  assert.equal(parseVoc(xml('a.png', obj('y'.repeat(200))), file).annotation.objects[0].name.length, 200);
  const part = `<part><name>${'h'.repeat(201)}</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></part>`;
  assert.throws(
    () => parseVoc(xml('a.png', obj('person', 1, 1, 9, 9, part)), file),
    /part 0 has a <name> of 201 characters/,
  );
  const big = parseVoc(
    xml(
      'a.png',
      obj(
        'cat',
        1,
        1,
        9,
        9,
        `<pose>${'p'.repeat(70_000)}</pose><note>${'n'.repeat(70_000)}</note><score>0.9</score>`,
      ),
    ),
    file,
  );
  assert.deepEqual(big.annotation.objects[0].pose, undefined);
  assert.deepEqual(big.annotation.objects[0].attributes, { score: '0.9' });
  assert.deepEqual(
    big.warnings.map((w) => w.message),
    [
      'object 0 ("cat"): its <pose> is 70000 characters long (at most 65536); dropped',
      'object 0 ("cat"): the attribute "note" is 70004 characters long (at most 65536); dropped',
    ],
  );

  // Through import: the file is skipped and named, its image is not stored with a 10 MiB class.
  const dir = newDir();
  writeFile(path.join(dir, 'a.png'), await encodeImage('png', 20, 16, 3, 1));
  writeFile(path.join(dir, 'a.xml'), xml('a.png', obj('z'.repeat(10 * 1024 * 1024))));
  writeFile(path.join(dir, 'b.png'), await encodeImage('png', 20, 16, 3, 2));
  writeFile(path.join(dir, 'b.xml'), xml('b.png', obj('cat')));
  // A class folder's name is its class: the same limit holds.
  const folders = newDir();
  writeFile(path.join(folders, 'c'.repeat(201), 'x.png'), await encodeImage('png', 8, 8, 3, 3));
  writeFile(path.join(folders, 'cat', 'y.png'), await encodeImage('png', 8, 8, 3, 4));
  await withStore(async (store) => {
    const r = await importDataset(store, dir, { name: 'flat' });
    assert.deepEqual(r.dataset.classes, ['cat']);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0].file, path.join(dir, 'a.xml'));
    assert.ok(r.errors[0].message.length < 300);
    const f = await importDataset(store, folders, { name: 'folders' });
    assert.deepEqual(f.dataset.classes, ['cat']);
    assert.deepEqual(f.errors, [
      {
        file: path.join(folders, 'c'.repeat(201)),
        message: `${path.join(folders, 'c'.repeat(201))}: the folder's name (its class) has 201 characters, more than the 200 a class name may have; its 1 images were skipped`,
      },
    ]);
  });
});

test('numbers that are not finite, and elements nested beyond 64, refuse the file', () => {
  assert.throws(
    () => parseVoc(xml('a.png', obj('cat', 1, 1, '1e999' as never, 8)), '/d/inf.xml'),
    /<xmax> of the <bndbox> of object 0 \("cat"\) is "1e999", too large to be a pixel/,
  );
  assert.throws(
    () => parseVoc(xml('a.png', `${'<x>'.repeat(100)}${'</x>'.repeat(100)}`), '/d/deep.xml'),
    /\/d\/deep\.xml:1: refused: elements are nested more than 64 deep/,
  );
});

test('a VOC file without <filename> is read as the annotation of the image beside it, with a warning', async () => {
  const dir = newDir();
  await writeVocDevkit(dir, [
    { id: 'a', width: 20, height: 16, objects: [{ name: 'cat', box: box(1, 1, 9, 9) }] },
  ]);
  const annotation = path.join(dir, 'Annotations', 'a.xml');
  fs.writeFileSync(annotation, xml(null, obj('cat', 2, 2, 9, 9)));
  assert.throws(
    () => parseVoc(fs.readFileSync(annotation), annotation),
    /there is no <filename> naming the image/,
  );
  await withStore(async (store) => {
    const r = await importDataset(store, dir);
    assert.deepEqual(r.errors, []);
    const im = store.images.list(r.dataset.id)[0];
    assert.deepEqual(
      store.objects.list(im.id, { source: GROUND_TRUTH }).map((o) => o.object.box),
      [box(1, 1, 9, 9)],
    );
    assert.ok(
      r.warnings.some(
        (w) =>
          w.file === annotation &&
          w.message === 'there is no <filename>; read as the annotation of a.png, the image beside it',
      ),
    );
  });
});

test('a devkit with VOC2007 and VOC2012 imports both years into one dataset and says so', async () => {
  const dir = newDir();
  const devkit = path.join(dir, 'VOCdevkit');
  const cat = { name: 'cat', box: box(1, 1, 9, 9) };
  await writeVocDevkit(path.join(devkit, 'VOC2007'), [
    { id: '000001', width: 20, height: 16, objects: [cat], split: 'train' },
    { id: '000002', width: 20, height: 16, objects: [cat], split: 'val' },
  ]);
  await writeVocDevkit(path.join(devkit, 'VOC2012'), [
    {
      id: '2008_000001',
      width: 20,
      height: 16,
      objects: [{ name: 'dog', box: box(2, 2, 8, 8) }],
      split: 'train',
    },
    { id: '000001', width: 20, height: 16, objects: [cat], split: 'val' }, // same id as 2007's: kept apart
  ]);
  for (const given of [dir, devkit]) {
    const scan = scanDataset(given);
    assert.equal(scan.root, devkit);
    assert.equal(scan.images.length, 4);
  }
  await withStore(async (store) => {
    const r = await importDataset(store, devkit);
    assert.deepEqual(r.dataset.classes, ['cat', 'dog']);
    assert.deepEqual(
      store.images.list(r.dataset.id).map((im) => [im.relPath, im.split]),
      [
        ['VOC2007/JPEGImages/000001.png', 'train'],
        ['VOC2007/JPEGImages/000002.png', 'val'],
        ['VOC2012/JPEGImages/000001.png', 'val'],
        ['VOC2012/JPEGImages/2008_000001.png', 'train'],
      ],
    );
    assert.equal(r.objects, 4);
    assert.equal(r.notes.length, 1);
    assert.match(r.notes[0], /holds 2 VOC folders \(VOC2007, VOC2012\): all were imported into one dataset/);
    // The CLI prints the note.
    const out: string[] = [];
    const io: Io = { out: (l) => out.push(l), err: () => {}, interactive: false };
    assert.equal(await main(['import', devkit, '--name', 'cli', '--db', store.path], io), 0);
    assert.ok(
      out.some((l) => l.startsWith('note: ') && l.includes('VOC2007, VOC2012')),
      out.join('\n'),
    );
  });
  // One year is imported alone when its folder is named.
  assert.equal(scanDataset(path.join(devkit, 'VOC2012')).images.length, 2);
});

test('--db or XWB_DB given as a URL: postgres:// is a server store (its errors name it), others are refused', async () => {
  const cwd = process.cwd();
  const dir = newDir();
  fs.mkdirSync(dir, { recursive: true });
  const saved = process.env.XWB_DB;
  process.chdir(dir);
  try {
    const err: string[] = [];
    const io: Io = { out: () => {}, err: (l) => err.push(l), interactive: false };
    // Port 1 on the loopback refuses at once.
    assert.equal(await main(['datasets', '--db', 'postgres://xwb@127.0.0.1:1/xwb'], io), 1);
    assert.match(
      err.join('\n'),
      /xwb datasets: cannot connect to the PostgreSQL store postgres:\/\/xwb@127\.0\.0\.1:1\/xwb: /,
    );
    process.env.XWB_DB = 'postgresql://ana:secret@h/x';
    err.length = 0;
    assert.equal(await main(['datasets'], io), 1);
    assert.match(
      err.join('\n'),
      /postgresql:\/\/ana:\*\*\*@h\/x: put the password in PGPASSWORD or ~\/\.pgpass/,
    );
    assert.ok(!err.join('\n').includes('secret'), 'the password is not shown');
    assert.throws(
      () => cliStorePath({ values: { db: 'file:///tmp/x.db' }, positionals: [] }),
      /--db file:\/\/\/tmp\/x\.db: "file:\/\/" addresses are not store locations/,
    );
    assert.throws(() => openStore('mysql://a/b'), /"mysql:\/\/" addresses are not store locations/);
    assert.deepEqual(fs.readdirSync(dir), [], 'no postgres: folder, no SQLite file');
    // Ordinary paths, including Windows-looking drive paths, are still paths.
    assert.equal(cliStorePath({ values: { db: 'C:\\data\\xwb.db' }, positionals: [] }), 'C:\\data\\xwb.db');
  } finally {
    process.chdir(cwd);
    if (saved === undefined) delete process.env.XWB_DB;
    else process.env.XWB_DB = saved;
  }
});

test('a failed import leaves the store exactly as it was', async () => {
  const good = newDir();
  await writeVocDevkit(good, [
    { id: 'a', width: 20, height: 16, objects: [{ name: 'cat', box: box(1, 1, 9, 9) }] },
  ]);
  const bad = newDir();
  writeFile(path.join(bad, 'x.png'), 'text named .png');
  writeFile(path.join(bad, 'x.xml'), xml('x.png', obj('cat')));
  await withStore(async (store) => {
    await importDataset(store, good, { name: 'good' });
    const before = JSON.stringify(storeSnapshot(store));
    await assert.rejects(importDataset(store, bad, { name: 'bad' }), /none of its 1 images could be read/);
    assert.equal(JSON.stringify(storeSnapshot(store)), before);
  });
});
