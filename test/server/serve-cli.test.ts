/**
 * `xwb serve` as a user runs it (a separate node process on the sources, real sockets): the token is new at every
 * launch while the port stays the store's own; nothing secret is kept on disk, and a planted token file is not
 * trusted; a non-loopback --host needs an explicit flag; and running out of file descriptors is survived.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { stablePort } from '../../src/server/identity.js';
import { openStore } from '../../src/store/index.js';
import { closed, idleSocket, raw } from './http-client.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsxLoader = path.join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs');
let dir: string;
let db: string;
let imageId: number;

interface Served {
  child: ChildProcess;
  url: string;
  token: string;
  port: number;
  stderr: () => string;
}

/** Starts `xwb serve --json` (optionally under a shell `ulimit -n`) and waits for its address line. */
function serve(args: string[], fdLimit?: number): Promise<Served> {
  const node = [
    process.execPath,
    '--import',
    tsxLoader,
    'src/cli/run.ts',
    'serve',
    '--db',
    db,
    '--json',
    ...args,
  ];
  const quoted = node.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child =
    fdLimit === undefined
      ? spawn(node[0], node.slice(1), { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec ${quoted}`], {
          cwd: repo,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      const { url, launchUrl } = JSON.parse(line) as { url: string; launchUrl: string };
      resolve({
        child,
        url,
        token: new URL(launchUrl).searchParams.get('token') ?? '',
        port: Number(new URL(url).port),
        stderr: () => err,
      });
    });
    child.on('exit', (code) => reject(new Error(`xwb serve exited with ${code}: ${err}`)));
  });
}

function stop(s: Served): Promise<number | null> {
  return new Promise((resolve) => {
    s.child.removeAllListeners('exit');
    s.child.on('exit', (code) => resolve(code));
    s.child.kill('SIGTERM');
  });
}

function run(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, 'src/cli/run.ts', ...args], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, err }));
  });
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'xwb-serve-cli-'));
  db = path.join(dir, 'xwb.db');
  await generateDataset(path.join(dir, 'cue'), {
    images: 4,
    positives: 2,
    width: 32,
    height: 32,
    shapesPerImage: 2,
    colourCue: true,
    seed: 9,
  });
  const store = openStore(db);
  const { dataset } = await importDataset(store, path.join(dir, 'cue'), { name: 'cue' });
  imageId = store.images.list(dataset.id, { offset: 0, limit: 1 })[0].id;
  store.close();
});

after(() => rmSync(dir, { recursive: true, force: true }));

const image = (s: Served, token: string) =>
  raw(s.port, { path: `/files/image/${imageId}`, headers: { authorization: `Bearer ${token}` } });

test('a new token at every launch, the same port; a planted token file is ignored and none is written', async () => {
  // What an attacker with write access to the store's folder would leave for the old code to adopt.
  const planted = path.join(dir, '.xwb.db.serve-token');
  const known = 'A'.repeat(43);
  writeFileSync(planted, `${known}\n`, { mode: 0o644 });
  const first = await serve([]);
  let second: Served | undefined;
  try {
    assert.equal(first.port, stablePort(db));
    assert.notEqual(first.token, known);
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await image(first, known)).status, 401);
    assert.equal((await image(first, first.token)).status, 200);
    assert.equal(await stop(first), 0);
    second = await serve([]);
    assert.equal(
      second.port,
      first.port,
      'the origin (and the browser storage keyed by it) survives a restart',
    );
    assert.notEqual(second.token, first.token);
    assert.equal((await image(second, first.token)).status, 401, 'the old launch token no longer signs in');
    assert.equal((await image(second, second.token)).status, 200);
  } finally {
    if (first.child.exitCode === null) await stop(first);
    if (second) assert.equal(await stop(second), 0);
  }
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('token')),
    ['.xwb.db.serve-token'],
    'only the planted file, untouched; no secret is written',
  );
});

test('a non-loopback --host is refused without --allow-non-loopback, and warned about with it', async () => {
  const refused = await run(['serve', '--db', db, '--host', '0.0.0.0']);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /--host 0\.0\.0\.0 is not a loopback address.*--allow-non-loopback/s);
  const allowed = await serve(['--host', '0.0.0.0', '--allow-non-loopback', '--port', '0']);
  try {
    assert.match(allowed.stderr(), /warning: serving on 0\.0\.0\.0 over plain HTTP/);
    assert.equal((await image(allowed, allowed.token)).status, 200);
  } finally {
    assert.equal(await stop(allowed), 0);
  }
  assert.equal(existsSync(path.join(dir, 'cue')), true);
});

test('out of file descriptors: idle sockets do not crash the server, an image read answers 503, then 200', async () => {
  // ~30 descriptors are in use at rest (node, SQLite, the pipes), more while tsx loads the sources: 128 leaves
  // room for start-up and then runs out after about a hundred sockets.
  const s = await serve(['--port', '0'], 128);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: s.port,
          path: `/files/image/${imageId}`,
          agent,
          headers: { authorization: `Bearer ${s.token}` },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString('latin1')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const idle: Awaited<ReturnType<typeof idleSocket>>[] = [];
  try {
    // The connection the test asks on is open before the descriptors run out.
    assert.equal((await get()).status, 200);
    for (let i = 0; i < 160; i++) {
      const sock = await idleSocket(s.port);
      idle.push(sock);
      closed(sock);
    }
    await new Promise((ok) => setTimeout(ok, 300));
    const starved = await get();
    assert.equal(starved.status, 503, starved.body.slice(0, 200));
    assert.match(starved.body, /run out of file descriptors/);
    assert.equal(s.child.exitCode, null, 'still running');
    for (const sock of idle) sock.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((ok) => setTimeout(ok, 50));
      status = (await get()).status;
    }
    assert.equal(status, 200);
  } finally {
    for (const sock of idle) sock.destroy();
    agent.destroy();
    assert.equal(await stop(s), 0);
  }
});
