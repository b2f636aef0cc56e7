/**
 * A seeded slice of the import fuzz run (bench/fuzz-import.ts runs 10,000 cases): every XML mutator and every
 * broken-image kind at least once, then random mixes, each imported for real into a real store file in a child
 * process. No crash, no hang, every hostile file stored or named, a failed import leaves the store as it was,
 * and every image the import accepts is one training can decode.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { IMAGE_KIND_NAMES, XML_MUTATOR_NAMES } from '../../fuzz/corpus.js';
import { runFuzz } from '../../fuzz/harness.js';

test('300 seeded hostile cases: 0 crashes, 0 hangs, every skipped file named, store untouched by failures', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-fuzz-'));
  try {
    const fig = await runFuzz({ seed: 20261203, count: 300, dir, caseTimeoutMs: 20_000 });
    assert.deepEqual(fig.examples, []);
    assert.equal(fig.cases, 300);
    assert.equal(fig.crashes, 0);
    assert.equal(fig.hangs, 0);
    assert.equal(fig.unnamed, 0);
    assert.equal(fig.storeChangedByFailure, 0);
    assert.equal(fig.untrainable, 0);
    assert.equal(fig.expectationMismatches, 0);
    // The slice really exercised what it claims: every mutator and image kind, both importer paths.
    for (const m of XML_MUTATOR_NAMES) assert.ok(fig.byMutator[`xml:${m}`]?.cases > 0, m);
    for (const k of IMAGE_KIND_NAMES) assert.ok(fig.byMutator[`image:${k}`]?.cases > 0, k);
    assert.ok(fig.failedImportsCompared > 20, `${fig.failedImportsCompared} failed imports compared`);
    const all = Object.values(fig.byMutator);
    assert.ok(all.reduce((s, k) => s + k.skipped, 0) > 20, 'partial imports with a named skip');
    assert.ok(all.reduce((s, k) => s + k.stored, 0) > 20, 'hostile-but-repairable files stored');
    assert.equal(fig.byMutator['image:bomb-png'].stored, 0);
    assert.equal(fig.byMutator['image:cmyk-jpeg'].stored, fig.byMutator['image:cmyk-jpeg'].cases);
    assert.deepEqual(fs.readdirSync(dir), [], 'case folders and stores are cleaned up');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
