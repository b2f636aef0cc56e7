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

test('--init-from and --phases: bad values are usage errors that name the option and the values', async () => {
  const source = fx.store.runs.list({ status: 'done' }).find((r) => r.model === 'expclass')!;
  const cases: [string[], RegExp][] = [
    [
      ['--phases', 'explainer,foo'],
      /--phases: "foo" is not a phase of the expclass model \(the phases of expclass: classifier, explainer, joint\)/,
    ],
    [['--model', 'xcnn', '--phases', 'explainer'], /--phases: "explainer" is not a phase of the xcnn model/],
    [['--phases', 'joint', '--epochs', '1,2'], /--epochs takes 1 value \(for the phase joint\), got "1,2"/],
    [
      ['--phases', 'explainer,joint', '--epochs', '1,2,3'],
      /--epochs takes 1 value or 2 \(one per phase: explainer, joint\)/,
    ],
    [['--init-from', 'abc'], /--init-from takes a run id, got "abc"/],
    [['--init-from', '999'], /--init-from 999: no run 999 in /],
    [['--init-checkpoint', 'last'], /--init-checkpoint goes with --init-from RUN/],
    [
      ['--init-from', String(source.id), '--init-checkpoint', 'first'],
      /--init-checkpoint must be one of best, last, got "first"/,
    ],
    [
      ['--init-from', String(source.id), '--base', '8'],
      new RegExp(`model\\.base is 8, but run ${source.id} \\(initFrom\\) was trained with 4`),
    ],
    [
      ['--init-from', String(source.id), '--model', 'classifier'],
      new RegExp(
        `model\\.kind is "classifier", but run ${source.id} \\(initFrom\\) was trained with "expclass"`,
      ),
    ],
  ];
  const before = fx.store.runs.list().length;
  for (const [args, message] of cases) {
    const io = capture();
    assert.equal(await main(['train', 'shapes', '--db', fx.dbPath, ...args], io), 2, args.join(' '));
    assert.match(io.errors.join('\n'), message, args.join(' '));
  }
  const io = capture();
  assert.equal(
    await main(['train', '--resume', String(source.id), '--phases', 'joint', '--db', fx.dbPath], io),
    2,
  );
  assert.match(io.errors.join('\n'), /--phases does not go with --resume/);
  assert.equal(fx.store.runs.list().length, before, 'no run was recorded');
});

test('xwb train --init-from RUN --phases explainer: one phase from the source, the map diagnostics printed', async () => {
  const source = fx.store.runs.list({ status: 'done' }).find((r) => r.model === 'expclass')!;
  const io = capture();
  const code = await main(
    [
      'train',
      'shapes',
      '--db',
      fx.dbPath,
      '--init-from',
      String(source.id),
      '--phases',
      'explainer',
      '--epochs',
      '1',
      '--batch',
      '16',
      '--optimizer',
      'adam',
      '--engine',
      'wasm',
    ],
    io,
  );
  assert.equal(code, 0, io.errors.join('\n'));
  const out = io.lines.join('\n');
  assert.match(out, new RegExp(`starting from run ${source.id}'s weights \\(joint epoch 1\\)`));
  assert.match(out, /phase 1\/1: explainer \(1 epochs\)/);
  assert.match(out, /explainer 1\/1 .* map \d\.\d{3} \(sd \d\.\d{3} within, \d\.\d{3} across images\)/);
  const run = fx.store.runs.list()[0];
  assert.deepEqual(run.config.initFrom, { run: source.id, checkpoint: 'best' });
  assert.deepEqual(run.config.model, source.config.model);
  // Any warning comes with what to change, on the next line.
  const warnings = io.errors.filter((l) => l.startsWith('warning: '));
  for (const w of warnings) assert.match(w, /\n {2}what to change: /);
});
