import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { electronUrls } from '../../electron/core.cjs';
import { createCallHandler, errorBody } from '../../electron/ipc.cjs';
import * as contract from '../../src/api/contract.js';
import { XwbService } from '../../src/api/service.js';
import { openStore } from '../../src/store/index.js';

const app = { url: 'xwb://app/index.html', parent: null };

function recordingService() {
  const calls: { method: string; req: unknown }[] = [];
  return {
    calls,
    service: {
      call: async (method: never, req: never) => {
        calls.push({ method, req });
        return { echoed: req };
      },
    },
  };
}

test('a valid call reaches the core with the validated (defaulted) request', async () => {
  const { calls, service } = recordingService();
  const handle = createCallHandler({ contract, service });
  const r = await handle(app, 'images.list', { datasetId: 3 });
  assert.deepEqual(calls, [
    { method: 'images.list', req: { datasetId: 3, offset: 0, limit: 500, sort: 'path' } },
  ]);
  assert.deepEqual(r, { ok: true, value: { echoed: { datasetId: 3, offset: 0, limit: 500, sort: 'path' } } });
});

test('a foreign or missing sender frame is refused before anything else', async () => {
  const { calls, service } = recordingService();
  const warnings: string[] = [];
  const handle = createCallHandler({ contract, service, warn: (m) => warnings.push(m) });
  for (const frame of [
    { url: 'https://evil.example/', parent: null },
    { url: 'xwb://app/index.html', parent: app },
    null,
  ]) {
    const r = await handle(frame, 'app.info', {});
    assert.deepEqual(r, {
      ok: false,
      error: { error: 'refused: the call did not come from the workbench window', status: 403 },
    });
  }
  assert.equal(calls.length, 0);
  assert.equal(warnings.length, 3);
  assert.match(warnings[0], /evil\.example/);
});

test('unknown methods and bad requests never reach the core; the error names the field', async () => {
  const { calls, service } = recordingService();
  const handle = createCallHandler({ contract, service });
  assert.deepEqual(await handle(app, 'fs.readFile', {}), {
    ok: false,
    error: { error: 'unknown method "fs.readFile"', status: 404 },
  });
  assert.equal((await handle(app, 42, {})).ok, false);
  assert.equal((await handle(app, 'constructor', {})).ok, false);
  const bad = await handle(app, 'train.start', { datasetId: 1, epochs: [1, 1, 1], alpha: [1, 1, 2] });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.equal(bad.error.status, 400);
    assert.equal(bad.error.field, 'alpha.2');
    assert.match(bad.error.error, /^alpha \(item 3\) must be at most 1/);
  }
  const extra = await handle(app, 'app.info', { sneaky: true });
  assert.equal(extra.ok, false);
  assert.equal(calls.length, 0);
});

test('errors from the core keep their status and field; others become 500', async () => {
  const failing = {
    call: async (method: never) => {
      if (method === 'runs.get') throw new contract.ApiError('no run 5', 404);
      if (method === 'datasets.generate') throw new contract.ApiError('name taken', 409, 'name');
      throw new Error('/data/x.db: disk I/O error');
    },
  };
  const handle = createCallHandler({ contract, service: failing });
  assert.deepEqual(await handle(app, 'runs.get', { runId: 5 }), {
    ok: false,
    error: { error: 'no run 5', status: 404 },
  });
  const gen = await handle(app, 'datasets.generate', { name: 'a', options: { images: 4, size: 32 } });
  assert.deepEqual(gen, { ok: false, error: { error: 'name taken', status: 409, field: 'name' } });
  assert.deepEqual(await handle(app, 'app.info', {}), {
    ok: false,
    error: { error: '/data/x.db: disk I/O error', status: 500 },
  });
  assert.deepEqual(errorBody('plain'), { error: 'plain', status: 500 });
  assert.deepEqual(errorBody({ status: 200 }), { error: 'unexpected error', status: 500 });
});

test('end to end with the real service: datasets.list and app.info over the handler', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
  const store = openStore(path.join(dir, 'xwb.db'));
  try {
    const service = new XwbService({ store, transport: 'electron', version: '9.9.9', urls: electronUrls });
    const handle = createCallHandler({ contract, service });
    assert.deepEqual(await handle(app, 'datasets.list', {}), { ok: true, value: [] });
    const info = await handle(app, 'app.info', undefined);
    assert.equal(info.ok, true);
    if (info.ok)
      assert.deepEqual(info.value, {
        version: '9.9.9',
        storePath: store.path,
        engine: null,
        transport: 'electron',
        role: 'owner',
      });
    const missing = await handle(app, 'images.detail', { imageId: 1 });
    assert.deepEqual(missing, { ok: false, error: { error: 'no image 1', status: 404 } });
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
