import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { electronUrls } from '../../electron/core.cjs';
import {
  createProtocolHandler,
  type FileSource,
  resolveStaticFile,
  routeAppUrl,
} from '../../electron/protocol.cjs';
import { CSP } from '../../electron/security.cjs';
import { ApiError } from '../../src/api/contract.js';
import { XwbService } from '../../src/api/service.js';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { openStore, type Store } from '../../src/store/index.js';

let dir: string;
let store: Store;
let service: XwbService;
let renderer: string;
let imageIds: number[];
let handler: (r: Request) => Promise<Response>;
let escapingId: number;
let absoluteId: number;

const get = (url: string, method = 'GET') => handler(new Request(url, { method }));

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
  const ds = path.join(dir, 'ds');
  await generateDataset(ds, { images: 4, positives: 2, width: 48, height: 48, shapesPerImage: 3, seed: 7 });
  store = openStore(path.join(dir, 'xwb.db'));
  const report = await importDataset(store, ds, { name: 'tiny' });
  imageIds = store.images.list(report.dataset.id).map((im) => im.id);
  service = new XwbService({ store, transport: 'electron', version: 'test', urls: electronUrls });

  // A dataset whose records point outside its folder (a tampered or hand-edited store).
  fs.writeFileSync(path.join(dir, 'secret.png'), 'not for the renderer');
  const evil = store.datasets.create({
    name: 'evil',
    kind: 'folder',
    sourcePath: path.join(dir, 'evil-root'),
    classes: ['x'],
  });
  fs.mkdirSync(path.join(dir, 'evil-root'));
  const base = {
    datasetId: evil.id,
    width: 1,
    height: 1,
    channels: 3,
    format: 'png',
    sha256: '0'.repeat(64),
  };
  [escapingId, absoluteId] = store.images.upsertMany([
    { ...base, relPath: 'a.png' },
    { ...base, relPath: 'b.png' },
  ]).ids;
  // The store refuses such paths on the way in, so tamper with the file the way a hand edit would.
  const raw = new Database(path.join(dir, 'xwb.db'));
  const setPath = raw.prepare('UPDATE images SET rel_path = ? WHERE id = ?');
  setPath.run('../secret.png', escapingId);
  setPath.run(path.join(dir, 'secret.png'), absoluteId);
  raw.close();

  renderer = path.join(dir, 'renderer');
  fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>xwb</title>');
  fs.writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'outside.js'), 'stolen');

  const files: FileSource = {
    imageFile: (id) => service.imageFile(id),
    explanationData: (id) => {
      if (id !== 9) throw new ApiError(`no explanation ${id}`, 404);
      return Buffer.from(new Float32Array([0.25, -1, 3.5]).buffer);
    },
  };
  handler = createProtocolHandler({ files, rendererRoot: renderer });
});

after(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('routing: file routes by id, everything else static or 404', () => {
  assert.deepEqual(routeAppUrl('xwb://app/files/image/12'), { kind: 'image', id: 12 });
  assert.deepEqual(routeAppUrl('xwb://app/files/explanation/3'), { kind: 'explanation', id: 3 });
  assert.deepEqual(routeAppUrl('xwb://app/index.html'), { kind: 'static', path: '/index.html' });
  for (const u of [
    'xwb://app/files/image/0',
    'xwb://app/files/image/01',
    'xwb://app/files/image/-1',
    'xwb://app/files/image/1.5',
    'xwb://app/files/image/99999999999999999999',
    'xwb://app/files/other/1',
    'xwb://image/1',
    'xwb://explanation/1',
    'https://app/index.html',
    'xwb://app/%E0%A4%A',
  ]) {
    assert.equal(routeAppUrl(u).kind, 'not-found', u);
  }
});

test('static paths cannot leave the renderer folder', () => {
  const root = '/srv/renderer';
  assert.equal(resolveStaticFile(root, '/'), '/srv/renderer/index.html');
  assert.equal(resolveStaticFile(root, '/assets/a.js'), '/srv/renderer/assets/a.js');
  assert.equal(resolveStaticFile(root, '//etc/passwd'), '/srv/renderer/etc/passwd');
  for (const p of [
    '/../../etc/passwd',
    '/..',
    '/assets/../../x',
    '/etc/\0passwd',
    '/C:/Windows/win.ini',
    '/\\\\server\\share',
  ]) {
    assert.equal(resolveStaticFile(root, p), null, JSON.stringify(p));
  }
});

test('serves the renderer with the CSP, and index.html for app routes', async () => {
  const index = await get('xwb://app/index.html');
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(index.headers.get('content-security-policy'), CSP);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  assert.match(await index.text(), /<title>xwb/);
  assert.match(await (await get('xwb://app/')).text(), /<title>xwb/);
  assert.match(await (await get('xwb://app/runs/3')).text(), /<title>xwb/);
  const js = await get('xwb://app/assets/app.js');
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(await js.text(), 'console.log(1)');
  // A missing asset is a 404, not index.html served as a script.
  assert.equal((await get('xwb://app/assets/missing.js')).status, 404);
});

test('traversal attempts on the renderer are refused', async () => {
  for (const u of [
    'xwb://app/..%2foutside.js',
    'xwb://app/assets/..%2f..%2foutside.js',
    `xwb://app/${encodeURIComponent(path.join(dir, 'outside.js'))}`,
    'xwb://app/../outside.js',
    'xwb://app/%2e%2e/outside.js',
  ]) {
    const r = await get(u);
    assert.notEqual(r.status, 200, u);
    assert.notEqual(await r.text(), 'stolen', u);
  }
});

test('a valid image id serves its file', async () => {
  const im = store.images.get(imageIds[0])!;
  const r = await get(`xwb://app/files/image/${im.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'image/png');
  const body = Buffer.from(await r.arrayBuffer());
  const onDisk = fs.readFileSync(path.join(dir, 'ds', im.relPath));
  assert.ok(body.equals(onDisk));
  assert.equal(electronUrls.image(im.id), `xwb://app/files/image/${im.id}`);
});

test('unknown ids are 404; records escaping their dataset folder are refused', async () => {
  assert.equal((await get('xwb://app/files/image/999999')).status, 404);
  for (const id of [escapingId, absoluteId]) {
    const r = await get(`xwb://app/files/image/${id}`);
    assert.notEqual(r.status, 200, `image ${id}`);
    assert.ok((await r.text()).includes('escapes'), `image ${id}`);
  }
});

test('explanations are served as raw float32, unknown ones 404', async () => {
  const r = await get('xwb://app/files/explanation/9');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual([...new Float32Array(await r.arrayBuffer())], [0.25, -1, 3.5]);
  const missing = await get('xwb://app/files/explanation/8');
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), 'no explanation 8');
});

test('other hosts, schemes and methods get nothing', async () => {
  assert.equal((await get('xwb://image/1')).status, 404);
  assert.equal((await get('xwb://evil/index.html')).status, 404);
  assert.equal((await get('xwb://app/files/image/1', 'POST')).status, 405);
});

test('a missing renderer build says how to fix it', async () => {
  const h = createProtocolHandler({ files: service, rendererRoot: path.join(dir, 'nope') });
  const r = await h(new Request('xwb://app/index.html'));
  assert.equal(r.status, 503);
  assert.match(await r.text(), /npm run build/);
});
