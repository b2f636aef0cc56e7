#!/usr/bin/env node
// Compiles the desktop shell (electron/*.cts → dist/electron/*.cjs) when the optional `electron` package, whose
// types the shell is checked against, is installed. Without it there is no desktop app to build: say so and
// succeed, so that `npm run build` (run by `npm install` through `prepare`) still works for the web mode.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const types = join(root, 'node_modules', 'electron', 'electron.d.ts');
if (!existsSync(types)) {
  console.log(
    `desktop shell not compiled: ${types} is missing (the optional electron package is not installed)`,
  );
} else {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.electron.json')], {
    stdio: 'inherit',
  });
  process.exitCode = r.status ?? 1;
}
