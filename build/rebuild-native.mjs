#!/usr/bin/env node
// Rebuilds better-sqlite3 for the runtime that will load it, only when asked (never from `npm install`):
//
//   node build/rebuild-native.mjs --for electron            rebuild for the installed Electron if the marker differs
//   node build/rebuild-native.mjs --for electron --launch   … then start the desktop app (what `npm run desktop` does)
//   node build/rebuild-native.mjs --for node                back to a Node build, for the CLI and the tests
//   node build/rebuild-native.mjs --check                   exit 0 if the binary already targets Electron, 1 if not
//   add --dry-run to print the plan; arguments after `--` go to the app (e.g. -- --db PATH)
//
// Without the Electron binary (its download failed or was skipped) --launch stops and says so.
// The logic lives in electron/native.cts (tested); this file runs its compiled form, or the TypeScript through
// tsx in a checkout that was not built (as bin/xwb.js does).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'electron', 'native.cjs');
let native;
if (existsSync(built)) {
  native = createRequire(import.meta.url)(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  native = await import(pathToFileURL(join(root, 'electron', 'native.cts')).href);
}
process.exitCode = native.main(process.argv.slice(2), root);
