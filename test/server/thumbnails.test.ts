/**
 * The thumbnail route of web mode against a real server, store and images: the same sign-in and path checks as
 * the originals, a real WebP of the asked size, and a cache on disk keyed by content hash that a second request
 * (and a second server) reads instead of decoding the original again.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import type { WebServer } from '../../src/server/http.js';
import { serveWorkbench } from '../../src/server/launch.js';
import { ThumbnailCache, thumbsFolder } from '../../src/server/thumbs.js';
import { openStore, type Store } from '../../src/store/index.js';
import { raw } from './http-client.js';

let dir: string;
let store: Store;
let web: WebServer;
let closeService: () => void;
let port: number;
let ids: number[];
let paths: string[];
let hashes: string[];
const SECRET = 'secret-outside-the-dataset';
const bearer = () => ({ authorization: `Bearer ${web.token}` });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xwb-thumbs-'));
  const data = join(dir, 'set');
  await generateDataset(data, {
    images: 4,
    positives: 2,
    width: 300,
    height: 200,
    shapesPerImage: 3,
    seed: 5,
  });
  store = openStore(join(dir, 'xwb.db'));
  const { dataset } = await importDataset(store, data, { name: 'set' });
  const images = store.images.list(dataset.id, { offset: 0, limit: 10 });
  ids = images.map((i) => i.id);
  paths = images.map((i) => join(data, i.relPath));
  hashes = images.map((i) => i.sha256);
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  process.env.XWB_RENDERER_DIR = join(dir, 'no-renderer');
  const served = await serveWorkbench(store, { version: 'test', port: 0 });
  web = served.web;
  closeService = () => served.service.close();
  port = Number(new URL(web.url).port);
});

after(async () => {
  await web.close();
  closeService();
  store.close();
  delete process.env.XWB_RENDERER_DIR;
  rmSync(dir, { recursive: true, force: true });
});

describe('thumbnail route', () => {
  test('images.list names the thumbnail URL', async () => {
    const r = await raw(port, {
      method: 'POST',
      path: '/api/images.list',
      body: JSON.stringify({ datasetId: store.datasets.list()[0].id }),
      headers: { 'content-type': 'application/json', ...bearer() },
    });
    assert.equal(r.status, 200, r.text);
    const items = r.json().items as { id: number; thumbUrl: string }[];
    assert.equal(items[0].thumbUrl, `/files/thumb/${items[0].id}`);
  });

  test('needs the launch credential like the originals', async () => {
    const r = await raw(port, { path: `/files/thumb/${ids[0]}?size=128` });
    assert.equal(r.status, 401);
    const wrong = await raw(port, {
      path: `/files/thumb/${ids[0]}?size=128`,
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.status, 401);
  });

  test('a WebP no larger than the size asked, aspect kept; then a cache hit on disk', async () => {
    const file = new ThumbnailCache(thumbsFolder(store.path)).pathFor(hashes[0], 128);
    assert.ok(!existsSync(file));
    const r = await raw(port, { path: `/files/thumb/${ids[0]}?size=128`, headers: bearer() });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-type'], 'image/webp');
    const meta = await sharp(r.body).metadata();
    assert.equal(meta.format, 'webp');
    assert.equal(meta.width, 128);
    assert.equal(meta.height, Math.round((128 * 200) / 300));
    assert.ok(r.body.length < statSync(paths[0]).size, 'smaller than the original');
    assert.ok(existsSync(file), 'kept beside the store, named by content hash and size');
    // A hit: the original may go away and the cached bytes are still served, unchanged.
    const mtime = statSync(file).mtimeMs;
    const again = await raw(port, { path: `/files/thumb/${ids[0]}?size=128`, headers: bearer() });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, r.body);
    assert.equal(statSync(file).mtimeMs, mtime, 'not rewritten');
  });

  test('the cache reports hits and shares work between concurrent requests', async () => {
    const cache = new ThumbnailCache(join(dir, 'other-cache'));
    const src = { file: paths[1], sha256: hashes[1] };
    const [a, b] = await Promise.all([cache.get(src, 64), cache.get(src, 64)]);
    assert.equal(a.file, b.file);
    assert.equal((await cache.get(src, 64)).made, false);
    assert.equal((await sharp(a.file).metadata()).width, 64);
  });

  test('sizes outside the served set are refused', async () => {
    for (const q of ['?size=100', '?size=0', '?size=-64', '?size=abc', '?size=4096']) {
      const r = await raw(port, { path: `/files/thumb/${ids[0]}${q}`, headers: bearer() });
      assert.equal(r.status, 400, q);
      assert.match(String(r.json().error), /thumbnail size must be one of 64, 128, 256 px/);
    }
  });

  test('traversal and malformed ids are refused', async () => {
    for (const path of [
      '/files/thumb/..%2f1',
      '/files/thumb/%2e%2e',
      '/files/thumb/01',
      '/files/thumb/0',
      '/files/thumb/1.png',
      `/files/thumb/${join(dir, 'secret.txt')}`,
    ]) {
      const r = await raw(port, { path, headers: bearer() });
      assert.equal(r.status, 404, path);
      assert.ok(!r.text.includes(SECRET), path);
    }
    const unknown = await raw(port, { path: '/files/thumb/99999?size=64', headers: bearer() });
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.json().error), /no image 99999/);
  });

  test('an image swapped for a link out of its dataset folder is refused, not thumbnailed', async () => {
    const file = paths[2];
    renameSync(file, `${file}.kept`);
    symlinkSync(join(dir, 'secret.txt'), file);
    try {
      const r = await raw(port, { path: `/files/thumb/${ids[2]}?size=64`, headers: bearer() });
      assert.equal(r.status, 403);
      assert.match(String(r.json().error), /links outside its dataset folder/);
      assert.ok(!existsSync(new ThumbnailCache(thumbsFolder(store.path)).pathFor(hashes[2], 64)));
    } finally {
      rmSync(file);
      renameSync(`${file}.kept`, file);
    }
  });
});
