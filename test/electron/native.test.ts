import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  currentBuild,
  electronInstall,
  type Io,
  main,
  markerFile,
  nativeFile,
  nodeTarget,
  parseArgs,
  readMarker,
  rebuildCommand,
  sameTarget,
  type Target,
} from '../../electron/native.cjs';

/** A fake application root: an electron package (optionally with its binary) and a better-sqlite3 build. */
function fakeRoot(opts: { electron?: boolean; binary?: boolean; shell?: boolean } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-'));
  const e = path.join(root, 'node_modules', 'electron');
  if (opts.electron !== false) {
    fs.mkdirSync(e, { recursive: true });
    fs.writeFileSync(path.join(e, 'package.json'), JSON.stringify({ name: 'electron', version: '45.4.1' }));
    fs.writeFileSync(path.join(e, 'abi_version'), '150\n');
    if (opts.binary) {
      fs.writeFileSync(path.join(e, 'path.txt'), 'electron');
      fs.mkdirSync(path.join(e, 'dist'));
      fs.writeFileSync(path.join(e, 'dist', 'electron'), '');
    }
  }
  fs.mkdirSync(path.dirname(nativeFile(root)), { recursive: true });
  fs.writeFileSync(nativeFile(root), 'node build');
  if (opts.shell) {
    fs.mkdirSync(path.join(root, 'dist', 'electron'), { recursive: true });
    fs.writeFileSync(path.join(root, 'dist', 'electron', 'main.cjs'), '');
  }
  return root;
}

function recorder(onRun: (cmd: { command: string; args: string[] }) => number = () => 0) {
  const out: string[] = [];
  const err: string[] = [];
  const runs: { command: string; args: string[] }[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    run: (cmd) => {
      runs.push(cmd);
      return onRun(cmd);
    },
  };
  return { io, out, err, runs };
}

test('parseArgs', () => {
  assert.deepEqual(parseArgs([]), {
    runtime: 'electron',
    check: false,
    launch: false,
    dryRun: false,
    appArgs: [],
  });
  assert.deepEqual(parseArgs(['--for=node', '--check']).runtime, 'node');
  assert.deepEqual(parseArgs(['--launch', '--', '--db', 'x.db']).appArgs, ['--db', 'x.db']);
  assert.throws(() => parseArgs(['--for', 'deno']), /--for must be/);
  assert.throws(() => parseArgs(['--for', 'node', '--launch']), /--launch starts the desktop app/);
  assert.throws(() => parseArgs(['--frobnicate']), /unknown option/);
});

test('electronInstall: version and ABI from the package, the binary only if downloaded', () => {
  const noPkg = fakeRoot({ electron: false });
  const r = electronInstall(noPkg);
  assert.ok('error' in r && /optional "electron" package is not installed/.test(r.error));
  const types = fakeRoot();
  assert.deepEqual(electronInstall(types), { version: '45.4.1', abi: '150', binary: null });
  const full = fakeRoot({ binary: true });
  assert.deepEqual(electronInstall(full), {
    version: '45.4.1',
    abi: '150',
    binary: path.join(full, 'node_modules', 'electron', 'dist', 'electron'),
  });
  for (const d of [noPkg, types, full]) fs.rmSync(d, { recursive: true, force: true });
});

test('the marker counts only while the binary is the one it describes', () => {
  const node = nodeTarget();
  const electron: Target = {
    runtime: 'electron',
    version: '45.4.1',
    abi: '150',
    platform: node.platform,
    arch: node.arch,
  };
  assert.equal(currentBuild(null, null, node), null);
  assert.equal(currentBuild(null, 'aa', node), node);
  assert.deepEqual(currentBuild({ ...electron, sha256: 'aa' }, 'aa', node), { ...electron, sha256: 'aa' });
  // npm rebuilt the addon since: the marker is stale, the binary is a Node build again.
  assert.equal(currentBuild({ ...electron, sha256: 'aa' }, 'bb', node), node);
  assert.equal(sameTarget(node, electron), false);
  assert.equal(sameTarget(electron, { ...electron, version: '45.5.0' }), false);
  assert.equal(sameTarget(node, { ...node, version: '20.0.0' }), true);
});

test('rebuild commands', () => {
  const e: Target = { runtime: 'electron', version: '45.4.1', abi: '150', platform: 'linux', arch: 'x64' };
  assert.deepEqual(rebuildCommand(e, '/r', 'linux'), {
    command: 'npx',
    args: [
      '--yes',
      '@electron/rebuild@3.7.1',
      '--version',
      '45.4.1',
      '--only',
      'better-sqlite3',
      '--force',
      '--module-dir',
      '/r',
    ],
  });
  assert.equal(rebuildCommand(e, '/r', 'win32').command, 'npx.cmd');
  assert.deepEqual(rebuildCommand(nodeTarget(), '/r', 'linux'), {
    command: 'npm',
    args: ['rebuild', 'better-sqlite3'],
  });
});

test('without the electron package: explains and stops', () => {
  const root = fakeRoot({ electron: false });
  const r = recorder();
  assert.equal(main(['--launch'], root, r.io), 2);
  assert.match(r.err.join('\n'), /not installed.*web mode: npx xwb serve/s);
  assert.equal(r.runs.length, 0);
  fs.rmSync(root, { recursive: true, force: true });
});

test('--launch without the Electron binary: explains and stops before rebuilding', () => {
  const root = fakeRoot();
  const r = recorder();
  assert.equal(main(['--launch'], root, r.io), 2);
  assert.match(r.err.join('\n'), /Electron 45\.4\.1 binary is not installed/);
  assert.equal(r.runs.length, 0);
  fs.rmSync(root, { recursive: true, force: true });
});

test('rebuild only when the marker differs, then launch; --check reports', () => {
  const root = fakeRoot({ binary: true, shell: true });
  const build = recorder((cmd) => {
    if (cmd.command === 'npx') fs.writeFileSync(nativeFile(root), 'electron build');
    return 0;
  });
  assert.equal(main(['--check'], root, build.io), 1);
  assert.equal(main(['--dry-run', '--launch'], root, build.io), 0);
  assert.equal(build.runs.length, 0);
  assert.match(build.out.join('\n'), /would rebuild: npx --yes @electron\/rebuild/);

  assert.equal(main(['--launch', '--', '--db', '/d/x.db'], root, build.io), 0);
  assert.deepEqual(
    build.runs.map((c) => c.command),
    ['npx', path.join(root, 'node_modules', 'electron', 'dist', 'electron')],
  );
  assert.deepEqual(build.runs[1].args, [path.join(root, 'dist', 'electron', 'main.cjs'), '--db', '/d/x.db']);
  const marker = readMarker(markerFile(root));
  assert.equal(marker?.runtime, 'electron');
  assert.equal(marker?.abi, '150');

  // Up to date now: the next launch does not rebuild.
  const again = recorder();
  assert.equal(main(['--check'], root, again.io), 0);
  assert.equal(main(['--launch'], root, again.io), 0);
  assert.deepEqual(
    again.runs.map((c) => path.basename(c.command)),
    ['electron'],
  );

  // `npm rebuild` replaced the addon behind the marker's back: rebuild again.
  fs.writeFileSync(nativeFile(root), 'node build again');
  assert.equal(main(['--check'], root, recorder().io), 1);
  fs.rmSync(root, { recursive: true, force: true });
});

test('a failed rebuild says what it needs and leaves no marker', () => {
  const root = fakeRoot({ binary: true, shell: true });
  const r = recorder(() => 1);
  assert.equal(main(['--launch'], root, r.io), 1);
  assert.match(r.err.join('\n'), /rebuild failed.*C\+\+ toolchain/s);
  assert.equal(readMarker(markerFile(root)), null);
  assert.equal(r.runs.length, 1);
  fs.rmSync(root, { recursive: true, force: true });
});

test('--for node: nothing to do for a fresh npm build', () => {
  const root = fakeRoot({ electron: false });
  const r = recorder();
  assert.equal(main(['--for', 'node'], root, r.io), 0);
  assert.equal(r.runs.length, 0);
  fs.rmSync(root, { recursive: true, force: true });
});
