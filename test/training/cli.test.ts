import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { Io } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { type Fixture, syntheticStore } from './helpers.js';

let fx: Fixture;

before(async () => {
  fx = await syntheticStore({ images: 32, seed: 21 });
});

after(() => fx.done());

function capture(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), interactive: false };
}

test('xwb train --json: a tiny expclass run end to end, through the worker', async () => {
  const io = capture();
  const code = await main(
    [
      'train',
      'shapes',
      '--db',
      fx.dbPath,
      '--model',
      'expclass',
      '--size',
      '32',
      '--base',
      '4',
      '--epochs',
      '1',
      '--batch',
      '16',
      '--optimizer',
      'adam',
      '--lr',
      '0.003,0.003,0.001',
      '--engine',
      'wasm',
      '--json',
    ],
    io,
  );
  assert.equal(code, 0, io.errors.join('\n'));
  const summary = JSON.parse(io.lines.join('\n'));
  assert.equal(summary.status, 'done');
  assert.equal(summary.engine, 'wasm');
  assert.match(summary.device, /wasm/);
  assert.deepEqual(
    summary.phases.map((p: { phase: string; epochs: number }) => [p.phase, p.epochs]),
    [
      ['classifier', 1],
      ['explainer', 1],
      ['joint', 1],
    ],
  );
  for (const p of summary.phases) {
    assert.equal(typeof p.final.acc, 'number');
    assert.equal(typeof p.final.valAcc, 'number');
  }
  assert.deepEqual(summary.config.phases.joint.lr, 0.001);
  assert.ok(Array.isArray(summary.warnings));
  assert.ok(fx.store.runs.get(summary.runId)!.status === 'done');
});

test('xwb predict: one prediction per image, maps as 16-bit PNG and .f32 at the image size', async () => {
  const runId = fx.store.runs.list({ status: 'done' })[0].id;
  const out = path.join(fx.dir, 'maps');
  const io = capture();
  const code = await main(
    [
      'predict',
      String(runId),
      '--split',
      'val',
      '--db',
      fx.dbPath,
      '--json',
      '--out',
      out,
      '--engine',
      'wasm',
    ],
    io,
  );
  assert.equal(code, 0, io.errors.join('\n'));
  const report = JSON.parse(io.lines.join('\n'));
  assert.equal(report.predictions.length, fx.store.images.count(fx.datasetId, { split: 'val' }));
  const classes = fx.store.datasets.getById(fx.datasetId)!.classes;
  for (const p of report.predictions) {
    assert.equal(p.probs.length, 2);
    assert.equal(p.className, classes[p.classIndex]);
    assert.equal(fs.statSync(p.f32).size, p.width * p.height * 4);
    const meta = await sharp(p.png).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth], [p.width, p.height, 1, 'ushort']);
  }
  // The raw file holds the map itself: its mean is the reported one.
  const first = report.predictions[0];
  const raw = fs.readFileSync(first.f32);
  let sum = 0;
  for (let i = 0; i < raw.length; i += 4) sum += raw.readFloatLE(i);
  assert.ok(Math.abs(sum / (raw.length / 4) - first.explanationMean) < 1e-5);

  // Image files instead of a split.
  const files = capture();
  assert.equal(
    await main(['predict', String(runId), first.file, '--db', fx.dbPath, '--engine', 'wasm'], files),
    0,
  );
  assert.match(files.lines.join('\n'), new RegExp(`${path.basename(first.file)}\\t${first.className}`));
});

test('usage errors name the option', async () => {
  const io = capture();
  assert.equal(await main(['train', 'shapes', '--db', fx.dbPath, '--epochs', '1,2'], io), 2);
  assert.match(
    io.errors.join('\n'),
    /--epochs takes 1 value or 3 \(one per phase: classifier, explainer, joint\)/,
  );
  const io2 = capture();
  assert.equal(await main(['train', 'shapes', '--db', fx.dbPath, '--size', '40'], io2), 2);
  assert.match(io2.errors.join('\n'), /model\.inputSize must be a multiple of 16/);
  const io3 = capture();
  assert.equal(await main(['predict', '1', '--db', fx.dbPath], io3), 2);
  assert.match(io3.errors.join('\n'), /give image files or --split/);
  const io4 = capture();
  assert.equal(await main(['train', '--resume', '999', '--db', fx.dbPath, '--engine', 'wasm'], io4), 1);
  assert.match(io4.errors.join('\n'), /no run 999/);
});

test('SIGTERM ends a running xwb train cleanly: the run is marked cancelled, not left running', async () => {
  const { spawn } = await import('node:child_process');
  const root = new URL('../..', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(root, 'src/cli/run.ts'),
      'train',
      'shapes',
      '--db',
      fx.dbPath,
      '--model',
      'classifier',
      '--size',
      '32',
      '--base',
      '4',
      '--epochs',
      '200',
      '--batch',
      '4',
      '--engine',
      'wasm',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // Wait until the run exists and is training, then ask it to stop as a supervisor would.
  const deadline = Date.now() + 60_000;
  let runId: number | undefined;
  while (runId === undefined) {
    assert.ok(Date.now() < deadline, `no running run appeared: ${err}`);
    await new Promise((r) => setTimeout(r, 300));
    runId = fx.store.runs.list({ status: 'running' }).at(-1)?.id;
  }
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 130, err);
  assert.equal(fx.store.runs.get(runId)?.status, 'cancelled');
});
