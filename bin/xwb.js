#!/usr/bin/env node
// The entry point runs the compiled CLI (built by `npm install` through `prepare`). In a source checkout whose
// sources changed after the last build, it runs the TypeScript through tsx instead, so a stale dist/ never
// answers for code that is no longer there.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
const source = join(root, 'src');

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const useBuilt = existsSync(built) && (!existsSync(source) || statSync(built).mtimeMs >= newestMtime(source));
let main;
if (useBuilt) {
  ({ main } = await import(pathToFileURL(built).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(pathToFileURL(join(source, 'cli', 'main.ts')).href));
}
process.exitCode = await main(process.argv.slice(2));
