/**
 * Web mode's defences, against a real server on loopback with a real store, real images and real sockets:
 * tokens and cookies, Host and Origin (DNS rebinding, other local ports), path traversal in every file route,
 * bodies (size, type, JSON, UTF-8), files that fail to read, and the caps on event streams and idle sockets.
 * docs/reliability.md ("Security") quotes these cases.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import type { WebServer } from '../../src/server/http.js';
import { serveWorkbench } from '../../src/server/launch.js';
import { openStore, type Store } from '../../src/store/index.js';
import { closed, idleSocket, raw } from './http-client.js';

let dir: string;
let store: Store;
let web: WebServer;
let closeService: () => void;
let port: number;
let datasetDir: string;
let imageIds: number[];
let imagePaths: string[];
const SECRET = 'secret-outside-the-renderer';

const bearer = () => ({ authorization: `Bearer ${web.token}` });
const cookieName = () => `xwb_token_${port}`;
const cookie = () => ({ cookie: `${cookieName()}=${web.token}` });
const ownOrigin = () => `http://127.0.0.1:${port}`;
const jsonPost = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  raw(port, {
    method: 'POST',
    path,
    body,
    headers: { 'content-type': 'application/json', ...bearer(), ...headers },
  });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xwb-websec-'));
  datasetDir = join(dir, 'cue');
  await generateDataset(datasetDir, {
    images: 6,
    positives: 3,
    width: 32,
    height: 32,
    shapesPerImage: 2,
    colourCue: true,
    seed: 3,
  });
  store = openStore(join(dir, 'xwb.db'));
  const { dataset } = await importDataset(store, datasetDir, { name: 'cue' });
  const images = store.images.list(dataset.id, { offset: 0, limit: 100 });
  imageIds = images.map((i) => i.id);
  imagePaths = images.map((i) => join(datasetDir, i.relPath));
  // A renderer folder with a symbolic link that leads out of it, and a secret beside it.
  const renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>xwb</title>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  symlinkSync(join(dir, 'secret.txt'), join(renderer, 'assets', 'leak.js'));
  process.env.XWB_RENDERER_DIR = renderer;
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

describe('tokens and cookies', () => {
  test('missing and wrong tokens are refused on the API, the events and the files', async () => {
    for (const path of ['/api/datasets.list', '/events', `/files/image/${imageIds[0]}`]) {
      const method = path.startsWith('/api/') ? 'POST' : 'GET';
      const headers: Record<string, string> = method === 'POST' ? { 'content-type': 'application/json' } : {};
      const none = await raw(port, { method, path, headers, body: method === 'POST' ? '{}' : undefined });
      assert.equal(none.status, 401, path);
      assert.match(String(none.json().error), /not signed in.*changes every launch/);
      const wrong = await raw(port, {
        method,
        path,
        headers: { ...headers, authorization: `Bearer ${web.token.slice(0, -1)}x` },
        body: method === 'POST' ? '{}' : undefined,
      });
      assert.equal(wrong.status, 401, path);
      const wrongCookie = await raw(port, {
        method: 'GET',
        path,
        headers: { cookie: `${cookieName()}=nope` },
      });
      assert.equal(wrongCookie.status, 401, path);
    }
    const badLaunch = await raw(port, { path: '/?token=guess' });
    assert.equal(badLaunch.status, 403);
    assert.equal(badLaunch.headers['set-cookie'], undefined);
  });

  test('the launch address trades the token for an HttpOnly, SameSite=Strict cookie named after the port', async () => {
    const r = await raw(port, { path: `/?token=${web.token}` });
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const set = (r.headers['set-cookie'] as string[])[0];
    assert.equal(set, `${cookieName()}=${web.token}; HttpOnly; SameSite=Strict; Path=/`);
    const img = await raw(port, { path: `/files/image/${imageIds[0]}`, headers: cookie() });
    assert.equal(img.status, 200);
    assert.equal(img.headers['content-type'], 'image/png');
    // A token held under another port's cookie name (another xwb on this host) does not sign in here.
    const other = await raw(port, {
      path: `/files/image/${imageIds[0]}`,
      headers: { cookie: `xwb_token_${port + 1}=${web.token}; xwb_token=${web.token}` },
    });
    assert.equal(other.status, 401);
  });
});

describe('Host, Origin and Sec-Fetch-Site', () => {
  test('a foreign Host header is refused (DNS rebinding), loopback names are accepted', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, `[::1]:${port}`]) {
      const r = await raw(port, { path: '/', headers: { host } });
      assert.equal(r.status, 421, host);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const r = await raw(port, { path: '/', headers: { host } });
      assert.equal(r.status, 200, host);
    }
    // HTTP/1.0 allows no Host at all: refused too.
    const s = await idleSocket(port);
    const answer = closed(s);
    s.end('GET / HTTP/1.0\r\n\r\n');
    assert.match(await answer, /^HTTP\/1\.1 421 /);
    // Even with a valid token: the name, not the secret, is what a rebinding page gets wrong.
    const r = await jsonPost('/api/datasets.list', '{}', { host: `evil.example:${port}` });
    assert.equal(r.status, 421);
  });

  test('a foreign Origin is refused, even with the token', async () => {
    for (const origin of [
      `http://127.0.0.1:${port + 1}`,
      'http://evil.example',
      'null',
      `https://127.0.0.1:${port}`,
    ]) {
      const withCookie = await raw(port, {
        method: 'POST',
        path: '/api/datasets.list',
        body: '{}',
        headers: { 'content-type': 'application/json', ...cookie(), origin },
      });
      assert.equal(withCookie.status, 403, origin);
      assert.match(String(withCookie.json().error), /another origin/);
      const withBearer = await jsonPost('/api/datasets.list', '{}', { origin });
      assert.equal(withBearer.status, 403, origin);
      const img = await raw(port, { path: `/files/image/${imageIds[0]}`, headers: { ...cookie(), origin } });
      assert.equal(img.status, 403, origin);
    }
  });

  test('a cookie-signed POST must carry this server’s Origin; a Bearer script needs none', async () => {
    const noOrigin = await raw(port, {
      method: 'POST',
      path: '/api/datasets.list',
      body: '{}',
      headers: { 'content-type': 'application/json', ...cookie() },
    });
    assert.equal(noOrigin.status, 403);
    assert.match(String(noOrigin.json().error), /must carry its Origin/);
    const own = await raw(port, {
      method: 'POST',
      path: '/api/datasets.list',
      body: '{}',
      headers: { 'content-type': 'application/json', ...cookie(), origin: ownOrigin() },
    });
    assert.equal(own.status, 200);
    assert.equal((JSON.parse(own.text) as { name: string }[])[0].name, 'cue');
    const script = await jsonPost('/api/datasets.list', '{}');
    assert.equal(script.status, 200);
  });

  test('requests another local page started (Sec-Fetch-Site: same-site / cross-site) are refused', async () => {
    for (const site of ['same-site', 'cross-site']) {
      const r = await raw(port, {
        path: `/files/image/${imageIds[0]}`,
        headers: { ...cookie(), 'sec-fetch-site': site },
      });
      assert.equal(r.status, 403, site);
    }
    for (const site of ['same-origin', 'none']) {
      const r = await raw(port, {
        path: `/files/image/${imageIds[0]}`,
        headers: { ...cookie(), 'sec-fetch-site': site },
      });
      assert.equal(r.status, 200, site);
    }
  });
});

describe('response headers', () => {
  test('the renderer comes with the CSP (own scripts only, no framing), nosniff and no referrer', async () => {
    const { CSP } = await import('../../electron/security.cjs');
    for (const path of ['/', '/assets/app.js', '/some/app/route']) {
      const r = await raw(port, { path });
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-security-policy'], CSP, path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', path);
    }
    const csp = new Map(
      CSP.split(';')
        .map((d) => d.trim().split(/\s+/) as [string, ...string[]])
        .map(([k, ...v]) => [k, v]),
    );
    assert.deepEqual(csp.get('script-src'), ["'self'"]);
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
    // A missing asset is a 404 (not index.html served as a script); the favicon browsers ask for is no content.
    assert.equal((await raw(port, { path: '/assets/missing.js' })).status, 404);
    assert.equal((await raw(port, { path: '/favicon.ico' })).status, 204);
    const img = await raw(port, { path: `/files/image/${imageIds[0]}`, headers: bearer() });
    assert.equal(img.headers['x-content-type-options'], 'nosniff');
    assert.equal(img.headers['cache-control'], 'private, max-age=3600');
  });
});

describe('path traversal', () => {
  test('the renderer route serves only files inside its folder', async () => {
    const ok = await raw(port, { path: '/assets/app.js' });
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'console.log(1)');
    const cases: [string, number][] = [
      ['/..%2fsecret.txt', 403],
      ['/assets/..%2f..%2fsecret.txt', 403],
      ['/%2e%2e%2fsecret.txt', 403],
      ['/..%5c..%5csecret.txt', 404], // a backslash is a file-name character on POSIX: no such file
      ['/assets/leak.js', 403], // a symbolic link to a file outside
      ['/index.html%00.js', 400],
      ['/%zz', 400],
      ['/%E0%A4%A', 400],
    ];
    for (const [path, status] of cases) {
      const r = await raw(port, { path });
      assert.equal(r.status, status, path);
      assert.ok(!r.text.includes(SECRET), path);
    }
    // Dot segments and absolute paths are resolved inside the folder: at worst the app's own index.html.
    for (const path of [
      '/../../secret.txt',
      '/%2F%2Fetc%2Fpasswd',
      `/${join(dir, 'secret.txt')}`,
      '/../etc/passwd',
    ]) {
      const r = await raw(port, { path });
      assert.ok(!r.text.includes(SECRET) && !r.text.includes('root:'), path);
      assert.ok(
        r.status === 200 ? r.text.includes('<title>xwb</title>') : r.status === 404,
        `${path}: ${r.status}`,
      );
    }
  });

  test('file routes take only a plain positive id', async () => {
    for (const path of [
      '/files/image/..%2f1',
      '/files/image/%2e%2e',
      '/files/image/1%00',
      '/files/image/01',
      '/files/image/0',
      '/files/image/-1',
      '/files/image/1.png',
      `/files/image/${'9'.repeat(16)}`,
      '/files/other/1',
      `/files/image/${join(dir, 'secret.txt')}`,
    ]) {
      const r = await raw(port, { path, headers: bearer() });
      assert.equal(r.status, 404, path);
      assert.ok(!r.text.includes(SECRET), path);
    }
    const unknown = await raw(port, { path: '/files/image/99999', headers: bearer() });
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.json().error), /no image 99999/);
  });

  test('an image swapped for a link out of its dataset folder is refused', async () => {
    const file = imagePaths[1];
    const kept = `${file}.kept`;
    renameSync(file, kept);
    symlinkSync(join(dir, 'secret.txt'), file);
    try {
      const r = await raw(port, { path: `/files/image/${imageIds[1]}`, headers: bearer() });
      assert.equal(r.status, 403);
      assert.match(String(r.json().error), /links outside its dataset folder/);
    } finally {
      rmSync(file);
      renameSync(kept, file);
    }
  });
});

describe('files that cannot be read', () => {
  test('an image removed after import or replaced by a folder is a 404 naming the file; the server lives on', async () => {
    const [a, b] = [imagePaths[2], imagePaths[3]];
    renameSync(a, `${a}.kept`);
    renameSync(b, `${b}.kept`);
    mkdirSync(b);
    try {
      const gone = await raw(port, { path: `/files/image/${imageIds[2]}`, headers: bearer() });
      assert.equal(gone.status, 404);
      assert.ok(String(gone.json().error).includes(a), gone.text);
      const folder = await raw(port, { path: `/files/image/${imageIds[3]}`, headers: bearer() });
      assert.equal(folder.status, 404);
      assert.match(String(folder.json().error), /not a file \(a folder is in its place\)/);
      assert.ok(String(folder.json().error).includes(b));
      // Still serving: another image, and the API.
      const fine = await raw(port, { path: `/files/image/${imageIds[0]}`, headers: bearer() });
      assert.equal(fine.status, 200);
      assert.equal(fine.body.subarray(1, 4).toString('latin1'), 'PNG');
      assert.equal((await jsonPost('/api/app.info', '{}')).status, 200);
    } finally {
      rmSync(b, { recursive: true });
      renameSync(`${a}.kept`, a);
      renameSync(`${b}.kept`, b);
    }
  });
});

describe('request bodies', () => {
  test('oversized bodies get a 413 answer, with or without a Content-Length', async () => {
    const big = JSON.stringify({ dir: 'x'.repeat(2 << 20) });
    const declared = await jsonPost('/api/datasets.import', big);
    assert.equal(declared.status, 413);
    assert.match(String(declared.json().error), /larger than 1048576 bytes/);
    const chunked = await raw(port, {
      method: 'POST',
      path: '/api/datasets.import',
      body: big,
      chunked: true,
      headers: { 'content-type': 'application/json', ...bearer() },
    });
    assert.equal(chunked.status, 413);
    // The limit itself: 1 MiB passes the size check (and then fails validation), one byte more does not.
    const pad = (n: number) => JSON.stringify({ dir: 'x'.repeat(n - 10) });
    assert.equal(pad(1 << 20).length, 1 << 20);
    assert.equal((await jsonPost('/api/datasets.import', pad(1 << 20))).status, 400);
    assert.equal((await jsonPost('/api/datasets.import', pad((1 << 20) + 1))).status, 413);
  });

  test('only application/json (UTF-8) is accepted, matched as a media type', async () => {
    for (const type of [
      'application/jsonp',
      'application/json-seq',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      '',
    ]) {
      const r = await jsonPost('/api/app.info', '{}', { 'content-type': type });
      assert.equal(r.status, 415, type);
    }
    for (const type of [
      'application/json',
      'Application/JSON; charset=UTF-8',
      'application/json;charset="utf-8"',
    ]) {
      const r = await jsonPost('/api/app.info', '{}', { 'content-type': type });
      assert.equal(r.status, 200, type);
    }
  });

  test('malformed JSON and invalid UTF-8 are 400 with a message', async () => {
    const broken = await jsonPost('/api/datasets.import', '{"dir": ');
    assert.equal(broken.status, 400);
    assert.match(String(broken.json().error), /not valid JSON/);
    const latin1 = Buffer.concat([Buffer.from('{"dir": "caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const bad = await jsonPost('/api/datasets.import', latin1);
    assert.equal(bad.status, 400);
    assert.match(String(bad.json().error), /not valid UTF-8/);
    const overlong = await jsonPost('/api/datasets.import', Buffer.from([0x7b, 0xc0, 0xaf, 0x7d]));
    assert.equal(overlong.status, 400);
    const notObject = await jsonPost('/api/datasets.import', '[1,2]');
    assert.equal(notObject.status, 400);
  });

  test('user errors of datasets.import are 4xx naming the folder, not 500', async () => {
    const missing = join(dir, 'no-such-folder');
    const r = await jsonPost('/api/datasets.import', JSON.stringify({ dir: missing }));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: `${missing}: no such folder`, field: 'dir' });
    const file = await jsonPost('/api/datasets.import', JSON.stringify({ dir: join(dir, 'secret.txt') }));
    assert.equal(file.status, 400);
    assert.match(String(file.json().error), /not a folder/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const nothing = await jsonPost('/api/datasets.import', JSON.stringify({ dir: empty }));
    assert.equal(nothing.status, 400, nothing.text);
    const clash = await jsonPost('/api/datasets.import', JSON.stringify({ dir: empty, name: 'cue' }));
    assert.ok(clash.status === 400 || clash.status === 409, clash.text);
  });
});

describe('caps and timeouts', () => {
  test('event streams are capped; a closed one frees its place', async () => {
    const { web: capped, service } = await serveWorkbench(store, {
      version: 'test',
      port: 0,
      limits: { maxEventStreams: 3 },
    });
    const p = Number(new URL(capped.url).port);
    const streams: AbortController[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const ctrl = new AbortController();
        streams.push(ctrl);
        const r = await fetch(`${capped.url}events`, {
          headers: { authorization: `Bearer ${capped.token}` },
          signal: ctrl.signal,
        });
        assert.equal(r.status, 200);
      }
      const refused = await raw(p, { path: '/events', headers: { authorization: `Bearer ${capped.token}` } });
      assert.equal(refused.status, 503);
      assert.match(String(refused.json().error), /too many open event streams \(3\)/);
      streams.pop()?.abort();
      let again = 503;
      // The server learns of the closed stream when its socket closes: poll until then.
      for (let i = 0; i < 50 && again === 503; i++) {
        const ctrl = new AbortController();
        const r = await fetch(`${capped.url}events`, {
          headers: { authorization: `Bearer ${capped.token}` },
          signal: ctrl.signal,
        });
        again = r.status;
        if (again === 200) streams.push(ctrl);
        else await new Promise((ok) => setTimeout(ok, 20));
      }
      assert.equal(again, 200);
    } finally {
      for (const s of streams) s.abort();
      await capped.close();
      service.close();
    }
  });

  test('idle sockets are capped and closed when they send no request; the server then answers again', async () => {
    const { web: capped, service } = await serveWorkbench(store, {
      version: 'test',
      port: 0,
      limits: { maxConnections: 10, headersTimeoutMs: 300, requestTimeoutMs: 300 },
    });
    const p = Number(new URL(capped.url).port);
    try {
      const sockets = await Promise.all(Array.from({ length: 40 }, () => idleSocket(p)));
      const ends = sockets.map((s) => closed(s));
      // Every socket is closed by the server: the 30 past the cap at once, the 10 within the cap once their
      // headers are overdue (with a 408 answer).
      const got = await Promise.all(ends);
      const timedOut = got.filter((g) => g.startsWith('HTTP/1.1 408')).length;
      assert.equal(timedOut, 10);
      assert.equal(got.filter((g) => g === '').length, 30);
      const r = await raw(p, {
        method: 'POST',
        path: '/api/app.info',
        body: '{}',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${capped.token}`,
        },
      });
      assert.equal(r.status, 200);
    } finally {
      await capped.close();
      service.close();
    }
  });
});
