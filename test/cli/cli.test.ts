import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Io } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { openStore } from '../../src/store/index.js';
import {
  box,
  encodeImage,
  hashTree,
  removeDir,
  tempDir,
  writeFile,
  writeVocDevkit,
} from '../data/import/fixtures.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsxLoader = path.join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const root = tempDir();
after(() => removeDir(root));
let n = 0;
const newDir = () => path.join(root, `d${++n}`);

interface Result {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in this process with a capturing Io (fast: no tsx start-up per call). */
async function xwb(...argv: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Runs the CLI as a user would: a separate node process on the TypeScript sources. */
function spawnXwb(...argv: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, 'src/cli/run.ts', ...argv], {
      cwd: repo,
      env: { ...process.env, XWB_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

const json = (r: Result): Record<string, unknown> => {
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Record<string, unknown>;
};

const COMMANDS = ['generate', 'import', 'datasets', 'export', 'start'];

test('--help for xwb and every command: exit 0 and a usage line', async () => {
  const top = await xwb('--help');
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.match(top.out, new RegExp(`xwb ${c}\\b`));
  for (const c of COMMANDS) {
    const r = await xwb(c, '--help');
    assert.equal(r.code, 0, c);
    assert.match(r.out, new RegExp(`^usage: xwb ${c}\\b`), c);
    const short = await xwb(c, '-h');
    assert.equal(short.out, r.out);
  }
  assert.equal((await xwb('--version')).code, 0);
});

test('usage errors exit 2 with a usage line: no command, unknown command, unknown option, wrong arguments', async () => {
  const none = await xwb();
  assert.equal(none.code, 2);
  assert.match(none.out, /usage: xwb <command>/);

  const unknown = await xwb('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "frobnicate"/);
  assert.match(unknown.err, /xwb --help/);

  const option = await xwb('datasets', '--colour');
  assert.equal(option.code, 2);
  assert.match(option.err, /--colour/);
  assert.match(option.err, /usage: xwb datasets/);

  const missing = await xwb('import');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /takes 1 argument\(s\), got 0/);
  assert.match(missing.err, /usage: xwb import/);

  const extra = await xwb('export', 'a');
  assert.equal(extra.code, 2);
  assert.match(extra.err, /usage: xwb export/);

  const bad = await xwb('generate', path.join(newDir(), 'g'), '--count', 'many');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--count must be a whole number/);
});

test('generate → import --json → datasets --json → export → import the export, end to end', async () => {
  const dir = newDir();
  const db = path.join(dir, 'xwb.db');
  const gen = path.join(dir, 'gen');
  const g = json(
    await xwb(
      'generate',
      gen,
      '--count',
      '12',
      '--size',
      '32',
      '--seed',
      '4',
      '--positives',
      '5',
      '--colour-cue',
      '--json',
    ),
  );
  assert.equal(g.images, 12);
  assert.equal(g.positives, 5);
  const options = JSON.parse(fs.readFileSync(path.join(gen, 'xwb-generator.json'), 'utf8')).options;
  assert.deepEqual([options.width, options.seed, options.colourCue], [32, 4, true]);
  const sources = hashTree(gen);

  const imp = json(await xwb('import', gen, '--db', db, '--json'));
  assert.equal(imp.store, db);
  assert.equal(imp.created, true);
  assert.equal(imp.layout, 'synthetic');
  assert.deepEqual(imp.images, { found: 12, inserted: 12, updated: 0, unchanged: 0, failed: 0 });
  assert.deepEqual(imp.errors, []);
  const ds = imp.dataset as { name: string; classes: string[]; targetClass: string };
  assert.deepEqual([ds.name, ds.targetClass, ds.classes], ['gen', 'triangle', ['no-triangle', 'triangle']]);

  const again = json(await xwb('import', gen, '--db', db, '--json'));
  assert.deepEqual(again.images, { found: 12, inserted: 0, updated: 0, unchanged: 12, failed: 0 });

  const list = json(await xwb('datasets', '--db', db, '--json'));
  const datasets = list.datasets as {
    name: string;
    imageCount: number;
    labelCounts: unknown;
    splitCounts: unknown;
  }[];
  assert.equal(datasets.length, 1);
  assert.equal(datasets[0].imageCount, 12);
  assert.deepEqual(datasets[0].labelCounts, [
    { label: 'no-triangle', count: 7 },
    { label: 'triangle', count: 5 },
  ]);
  const text = await xwb('datasets', '--db', db);
  assert.equal(text.code, 0);
  assert.match(text.out, /gen {2}\(synthetic, 12 images, 5 boxes\)/);
  assert.match(text.out, /labels: no-triangle 7, triangle 5/);

  const out = path.join(dir, 'exported');
  const ex = json(await xwb('export', 'gen', out, '--db', db, '--json'));
  assert.equal(ex.outDir, out);
  assert.equal(ex.images, 12);
  const byId = await xwb('export', '1', path.join(dir, 'by-id'), '--db', db);
  assert.equal(byId.code, 0);
  assert.match(byId.out, /exported "gen": 12 images, 12 masks/);

  const back = json(await xwb('import', out, '--db', db, '--name', 'gen-back', '--json'));
  assert.deepEqual(back.images, { found: 12, inserted: 12, updated: 0, unchanged: 0, failed: 0 });
  assert.deepEqual((back.dataset as { classes: string[] }).classes, ds.classes);
  assert.deepEqual(hashTree(gen), sources, 'the CLI never modifies source files');
});

test('import of a folder with a broken file: exit 3, "skipped: <file>: …", the rest imported', async () => {
  const dir = newDir();
  const data = path.join(dir, 'voc');
  await writeVocDevkit(
    data,
    ['a', 'b', 'c'].map((id) => ({
      id,
      width: 12,
      height: 12,
      objects: [{ name: 'cat', box: box(1, 1, 6, 6) }],
    })),
  );
  const broken = path.join(data, 'Annotations', 'b.xml');
  writeFile(broken, '<annotation><filename>b.png</filename><object><name>cat');
  const db = path.join(dir, 'xwb.db');
  const r = await xwb('import', data, '--db', db);
  assert.equal(r.code, 3);
  assert.match(r.out, /3 images found, 2 new, .* 1 skipped/);
  const skipped = r.err.split('\n').filter((l) => l.startsWith('skipped: '));
  assert.equal(skipped.length, 1);
  // The parser names the file and, where it has one, the line: "<file>:<line>: <problem>".
  assert.ok(skipped[0].startsWith(`skipped: ${broken}:`), skipped[0]);
  assert.match(skipped[0], /truncated/);

  const asJson = await xwb('import', data, '--db', db, '--json');
  assert.equal(asJson.code, 3);
  const report = JSON.parse(asJson.out) as { errors: { file: string }[] };
  assert.deepEqual(
    report.errors.map((e) => e.file),
    [broken],
  );
});

test('import errors exit 1 with a clear message: no dataset, same name from another folder, bad --target', async () => {
  const dir = newDir();
  const db = path.join(dir, 'xwb.db');
  const empty = path.join(dir, 'nothing');
  writeFile(path.join(empty, 'notes.txt'), 'x');
  const r = await xwb('import', empty, '--db', db);
  assert.equal(r.code, 1);
  assert.ok(r.err.startsWith(`xwb import: ${empty}: no dataset found`), r.err);

  const a = path.join(dir, 'one', 'pets');
  const b = path.join(dir, 'two', 'pets');
  writeFile(path.join(a, 'cat', '1.png'), await encodeImage('png', 4, 4, 3, 1));
  writeFile(path.join(b, 'cat', '1.png'), await encodeImage('png', 4, 4, 3, 2));
  assert.equal((await xwb('import', a, '--db', db)).code, 0);
  const before = json(await xwb('datasets', '--db', db, '--json'));
  const clash = await xwb('import', b, '--db', db);
  assert.equal(clash.code, 1);
  assert.match(clash.err, /a dataset named "pets" already exists/);
  assert.match(clash.err, /--name/);
  assert.deepEqual(json(await xwb('datasets', '--db', db, '--json')), before);

  const voc = path.join(dir, 'voc');
  await writeVocDevkit(voc, [
    { id: 'a', width: 8, height: 8, objects: [{ name: 'cat', box: box(1, 1, 4, 4) }] },
  ]);
  const target = await xwb('import', voc, '--db', db, '--target', 'horse');
  assert.equal(target.code, 1);
  assert.match(target.err, /--target horse/);

  const exportMissing = await xwb('export', 'nope', path.join(dir, 'out'), '--db', db);
  assert.equal(exportMissing.code, 1);
  assert.match(exportMissing.err, /no dataset "nope".*\(datasets: pets\)/);
});

test('start --headless --db: the first run generates and imports the demo set, the second does not regenerate', async () => {
  const dir = newDir();
  const db = path.join(dir, 'store', 'xwb.db');
  const first = await xwb('start', '--headless', '--db', db);
  assert.equal(first.code, 0, first.err);
  const demo = path.join(dir, 'store', 'datasets', 'demo-triangles');
  assert.match(first.out, /generated the demo dataset/);
  assert.match(first.out, /demo-triangles {2}\(synthetic, 200 images/);
  const files = hashTree(demo);
  const stamp = fs.statSync(path.join(demo, 'xwb-generator.json')).mtimeMs;

  const second = await xwb('start', '--headless', '--db', db, '--json');
  const body = json(second) as { store: string; datasets: { name: string; imageCount: number }[] };
  assert.equal(body.store, db);
  assert.deepEqual(
    body.datasets.map((d) => [d.name, d.imageCount]),
    [['demo-triangles', 200]],
  );
  assert.deepEqual(hashTree(demo), files);
  assert.equal(fs.statSync(path.join(demo, 'xwb-generator.json')).mtimeMs, stamp);

  const store = openStore(db);
  try {
    assert.equal(store.datasets.list().length, 1);
  } finally {
    store.close();
  }
});

test('real processes: exit codes and output of the installed entry point', async () => {
  const dir = newDir();
  const db = path.join(dir, 'xwb.db');
  const gen = path.join(dir, 'gen');
  const [help, unknown] = await Promise.all([spawnXwb('import', '--help'), spawnXwb('bogus')]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^usage: xwb import <dir>/);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "bogus"/);

  const g = await spawnXwb(
    'generate',
    gen,
    '--count',
    '6',
    '--size',
    '32',
    '--seed',
    '2',
    '--positives',
    '3',
  );
  assert.equal(g.code, 0, g.err);
  assert.match(g.out, /wrote 6 images \(3 with a triangle\)/);
  const imp = await spawnXwb('import', gen, '--db', db, '--json');
  assert.equal(imp.code, 0, imp.err);
  assert.equal((JSON.parse(imp.out) as { images: { inserted: number } }).images.inserted, 6);

  // A corrupt image: partial success is exit 3, the problem on stderr, stdout still the summary.
  writeFile(path.join(gen, 'JPEGImages', '000003.png'), 'garbage');
  const partial = await spawnXwb('import', gen, '--db', db);
  assert.equal(partial.code, 3);
  assert.match(partial.err, /^skipped: .*000003\.png: cannot read image/m);
  assert.match(partial.out, /re-imported "gen"/);

  const missing = await spawnXwb('export', 'gen', '--db', db);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /usage: xwb export/);
});
