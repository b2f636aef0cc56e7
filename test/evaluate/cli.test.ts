import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Io } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { CSV_COLUMNS } from '../../src/evaluate/report.js';
import { listSplit } from '../../src/training/data/load.js';
import { type EvalFixture, evalFixture, wasmEngine } from './fixture.js';

let f: EvalFixture;
let runId: number;

before(async () => {
  await wasmEngine();
  f = await evalFixture();
  runId = await f.makeRun();
});
after(() => f.done());

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false };
  const code = await main([...argv, '--db', f.dbPath, '--engine', 'wasm'], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('xwb explain caches: the second run computes nothing', async () => {
  const first = await cli('explain', String(runId), '--methods', 'gradient,explainer', '--json');
  assert.equal(first.code, 0, first.err);
  const a = JSON.parse(first.out);
  const val = listSplit(f.store, f.datasetId, 'val').length;
  assert.equal(a.images, val);
  assert.deepEqual(
    a.methods.map((m: { method: string; computed: number; cached: number }) => [
      m.method,
      m.computed,
      m.cached,
    ]),
    [
      ['explainer', val, 0],
      ['gradient', val, 0],
    ],
  );
  const second = JSON.parse(
    (await cli('explain', String(runId), '--methods', 'gradient,explainer', '--json')).out,
  );
  assert.deepEqual(
    second.methods.map((m: { computed: number; cached: number }) => [m.computed, m.cached]),
    [
      [0, val],
      [0, val],
    ],
  );
  const text = await cli('explain', String(runId), '--methods', 'gradient', '--limit', '2', '--class', '1');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /gradient\s+2 computed, 0 cached/);
  assert.doesNotMatch(text.out, /conservation/, 'gradient maps report none');
  const lrp = await cli('explain', String(runId), '--methods', 'deep_taylor', '--limit', '2');
  assert.equal(lrp.code, 0, lrp.err);
  assert.match(
    lrp.out,
    /conservation \(Σ relevance ÷ logit; 1 = all of the logit\) mean -?\d\.\d{3}, range /,
  );
  const json = JSON.parse(
    (await cli('explain', String(runId), '--methods', 'deep_taylor', '--limit', '2', '--json')).out,
  );
  const c = json.methods[0].conservation;
  assert.deepEqual([c.n, c.missing], [2, 0], 'read back for the cached maps');
  assert.ok(c.min <= c.mean && c.mean <= c.max);
});

test('xwb eval: JSON table with per-image counts, CSV one row per method × metric, text table with CIs', async () => {
  const csv = path.join(f.dir, 'out', 'table.csv');
  const r = await cli(
    'eval',
    String(runId),
    '--methods',
    'gradient,gradcam',
    '--metrics',
    'pointing-game,sparseness,random-logit',
    '--json',
    '--csv',
    csv,
  );
  assert.equal(r.code, 0, r.err);
  const json = JSON.parse(r.out);
  const val = listSplit(f.store, f.datasetId, 'val').length;
  assert.equal(json.images, val);
  assert.equal(json.values, val * 2 * 3);
  assert.equal(json.table.length, 6);
  for (const row of json.table) {
    assert.equal(row.values, val, `${row.method} × ${row.metric}: one value per image`);
    assert.equal(row.n + row.nanCount, val);
  }
  // gradient maps were cached by the explain test (class target = the eval default differs from predicted,
  // so only the matching ones are reused); gradcam is new.
  assert.equal(json.methods.find((m: { method: string }) => m.method === 'gradcam').cached, 0);

  const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\r\n');
  assert.equal(lines[0], CSV_COLUMNS.join(','));
  assert.equal(lines.length, 1 + 6);
  const sparse = lines.find((l) => l.startsWith('gradcam,sparseness,'))!.split(',');
  const jsonRow = json.table.find(
    (t: { method: string; metric: string }) => t.method === 'gradcam' && t.metric === 'sparseness',
  );
  assert.equal(Number(sparse[3]), jsonRow.mean);
  assert.equal(sparse[2], String(jsonRow.higherIsBetter));

  const text = await cli(
    'eval',
    String(runId),
    '--methods',
    'gradient',
    '--metrics',
    'pointing-game,sparseness',
  );
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /maps: gradient 0 new\/\d+ cached/);
  assert.match(text.out, /pointing-game ↑\s+\S+ \[\S+, \S+\] \(\d+ NaN\)/);
  assert.match(text.out, /sparseness ↑\s+\d\.\d{3} \[/);
});

test('CLI errors: usage problems exit 2, a missing run exits 1 with its id', async () => {
  assert.equal((await cli('eval', String(runId), '--metrics', 'nope')).code, 2);
  assert.equal((await cli('eval', 'abc')).code, 2);
  assert.equal((await cli('explain', String(runId), '--class', 'best')).code, 2);
  assert.equal((await cli('explain', String(runId), '--methods', 'nope')).code, 2);
  const missing = await cli('eval', '999');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no run 999/);
});
