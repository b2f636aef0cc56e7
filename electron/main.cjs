// Entry point for `xwb start` from a source checkout (src/cli/commands/start.ts spawns Electron on this file).
// The shell itself is TypeScript compiled to dist/electron/ (tsconfig.electron.json); this file only hands over
// to it, or says how to build it. A built or packaged tree starts dist/electron/main.cjs directly.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '..', 'dist', 'electron', 'main.cjs');
if (existsSync(built)) {
  require(built);
} else {
  const message = `The desktop shell is not built: ${built} is missing.\nRun: npm run build`;
  console.error(message);
  try {
    const { app, dialog } = require('electron');
    app.whenReady().then(() => {
      dialog.showErrorBox('xwb', message);
      app.exit(1);
    });
  } catch {
    // Not inside Electron (e.g. run with plain node): the message above is all there is to say.
    process.exitCode = 1;
  }
}
