import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import sharp from 'sharp';

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

test('the app icon is a 512×512 RGBA PNG rendered from resources/icon.svg', async () => {
  const png = new URL('resources/icon.png', root).pathname;
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 512);
  assert.equal(meta.height, 512);
  assert.equal(meta.channels, 4);
  // Same rendering as build/make-icon.mjs: the PNG must not drift from its source.
  const fresh = await sharp(new URL('resources/icon.svg', root).pathname, { density: 72 })
    .resize(512, 512)
    .ensureAlpha()
    .raw()
    .toBuffer();
  const stored = await sharp(png).raw().toBuffer();
  assert.equal(stored.length, fresh.length);
  let diff = 0;
  for (let i = 0; i < fresh.length; i++) diff += Math.abs(fresh[i] - stored[i]);
  assert.ok(
    diff / fresh.length < 1,
    `icon.png differs from icon.svg (mean ${diff / fresh.length}): node build/make-icon.mjs`,
  );
  // Transparent corners (rounded square), opaque centre.
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(data[3], 0);
  assert.equal(data[(256 * 512 + 256) * 4 + 3], 255);
});

test('electron-builder config: targets, entry, unpacked natives, fuses', () => {
  const yml = read('build/electron-builder.yml');
  const has = (re: RegExp) => assert.match(yml, re);
  has(/^appId: \S+/m);
  has(/^productName: xwb$/m);
  has(/^ {2}main: dist\/electron\/main\.cjs$/m);
  for (const t of ['AppImage', 'deb', 'nsis', 'dmg']) has(new RegExp(`^ {4}- ${t}$`, 'm'));
  for (const p of [
    'better-sqlite3/\\*\\*/\\*\\.node',
    'sharp/',
    '@img/',
    '@tensorflow/tfjs-backend-wasm/dist/\\*\\.wasm',
  ]) {
    has(new RegExp(`^ {2}- node_modules/${p}`, 'm'));
  }
  // Every fuse of Electron's checklist item "check which fuses you can change", each set the safe way.
  has(/^ {2}runAsNode: false$/m);
  has(/^ {2}enableCookieEncryption: true$/m);
  has(/^ {2}enableNodeOptionsEnvironmentVariable: false$/m);
  has(/^ {2}enableNodeCliInspectArguments: false$/m);
  has(/^ {2}enableEmbeddedAsarIntegrityValidation: true$/m);
  has(/^ {2}onlyLoadAppFromAsar: true$/m);
  has(/^ {2}grantFileProtocolExtraPrivileges: false$/m);
  // Every icon path the config names exists.
  for (const m of yml.matchAll(/icon: (\S+)/g)) assert.ok(existsSync(new URL(m[1], root)), m[1]);
  assert.ok(!/\t/.test(yml), 'YAML must be indented with spaces');
});

test('the shell compiles to the entry electron-builder and `xwb start` expect', () => {
  const cfg = JSON.parse(read('tsconfig.electron.json')) as {
    compilerOptions: { outDir: string; rootDir: string };
    include: string[];
  };
  assert.equal(cfg.compilerOptions.outDir, 'dist');
  assert.equal(cfg.compilerOptions.rootDir, '.');
  assert.deepEqual(cfg.include, ['electron/**/*.cts']);
  assert.ok(existsSync(new URL('electron/main.cts', root)));
  assert.ok(existsSync(new URL('electron/preload.cts', root)));
  // The source-checkout entry hands over to the compiled shell.
  assert.match(read('electron/main.cjs'), /'dist', 'electron', 'main\.cjs'/);
});

test('one supported Electron major: package.json, the builder config and its Node requirement agree', () => {
  const pkg = JSON.parse(read('package.json')) as { optionalDependencies: Record<string, string> };
  const range = pkg.optionalDependencies.electron;
  const m = /^\^(\d+)\.\d+\.\d+$/.exec(range ?? '');
  assert.ok(m, `optionalDependencies.electron should be a caret range, got ${range}`);
  const major = Number(m[1]);
  // Electron supports its latest three majors (8-week cycle). 45 was the newest in December 2026, so 43 is the
  // oldest still patched; raise this floor when a new major ships (electronjs.org/docs/latest/tutorial/electron-timelines).
  assert.ok(major >= 43, `Electron ${major} no longer gets security fixes`);
  const yml = read('build/electron-builder.yml');
  const named = [...yml.matchAll(/Electron (\d+)/g)].map((x) => Number(x[1]));
  assert.ok(named.length > 0, 'the builder config says which Electron it packages');
  assert.deepEqual(
    [...new Set(named)],
    [major],
    'build/electron-builder.yml names the same major as package.json',
  );
  // Electron 41+ declare Node >= 22.12; the config and the README say so for packaging.
  assert.match(yml, /Node >= 22\.12/);
  assert.match(read('README.md'), /Node ≥ 22\.12/);
});
