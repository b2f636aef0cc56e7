import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { XwbService } from '../../api/service.js';
import { ensureDemoDataset } from '../../data/demo.js';
import type { Store } from '../../store/index.js';
import type { Command, Io } from '../command.js';
import { createProgress } from '../progress.js';
import { openCliStore } from '../store.js';
import { formatDatasetSummary } from './datasets.js';
import { serveWorkbenchCommand, TEAM_OPTIONS, TEAM_USAGE } from './serve.js';

/** Generates and imports the demo dataset when the store has no dataset yet. */
export async function ensureDemo(store: Store, io: Io, quiet: boolean): Promise<void> {
  const bar = createProgress('demo data', { enabled: io.interactive && !quiet });
  const report = await ensureDemoDataset(store, (d, t) => bar.update(d, t));
  bar.done();
  if (report && !quiet) io.out(`generated the demo dataset in ${report.dataset.sourcePath}`);
}

/**
 * First start: the small demo model trains in the background (its progress shows in the workbench), so a newcomer
 * sees an explanation within a minute or two. Nothing happens once the demo dataset has a run.
 */
export async function trainDemoModel(service: XwbService, io: Io): Promise<void> {
  try {
    const r = await service.call('datasets.demoTrain', {});
    if (r.started)
      io.err(`training the demo model in the background (run ${r.runId}); watch it in the workbench`);
  } catch (e) {
    // The workbench works without it; say why, and let the user train from the Training screen.
    io.err(`warning: the demo model could not start training: ${(e as Error).message}`);
  }
}

/**
 * The Electron binary, when the optional `electron` package installed one. Reads the package's `path.txt`
 * rather than `require('electron')`, whose index.js tries to download a missing binary.
 */
export function electronBinary(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('electron/package.json');
    const dir = dirname(pkg);
    const rel = readFileSync(join(dir, 'path.txt'), 'utf8').trim();
    const bin = join(dir, 'dist', rel);
    return rel && existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

export const startCommand: Command = {
  name: 'start',
  summary:
    'Start the workbench: the desktop window where Electron is installed, otherwise web mode in your browser. ' +
    'A new store gets a generated demo dataset, and (in web mode) a small demo model trained in the background. ' +
    '--headless prints what the store holds and exits.',
  usage: `xwb start [--db PATH] [--headless] [--port N] [--host IP] [--allow-non-loopback] ${TEAM_USAGE} [--json]`,
  positionals: [0, 0],
  options: {
    headless: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
    'allow-non-loopback': { type: 'boolean' },
    ...TEAM_OPTIONS,
  },
  async run(args, io) {
    const store = openCliStore(args);
    try {
      await ensureDemo(store, io, Boolean(args.values.json));
      if (args.values.headless) {
        const list = store.datasets.list();
        if (args.values.json) io.out(JSON.stringify({ store: store.path, datasets: list }, null, 2));
        else {
          io.out(`xwb workbench (headless) — store: ${store.path}`);
          for (const d of list) for (const line of formatDatasetSummary(d)) io.out(line);
        }
        return 0;
      }
    } finally {
      store.close();
    }
    // Team mode is a server for other people's browsers, never the desktop window.
    const electron = args.values.team ? undefined : electronBinary();
    if (electron) {
      const { spawn } = await import('node:child_process');
      const here = dirname(fileURLToPath(import.meta.url));
      const root = here.includes(join('dist', 'src'))
        ? join(here, '..', '..', '..', '..')
        : join(here, '..', '..', '..');
      const main = join(root, 'electron', 'main.cjs');
      if (existsSync(main)) {
        const db = typeof args.values.db === 'string' ? ['--db', args.values.db] : [];
        const child = spawn(electron, [main, ...db], { stdio: 'inherit' });
        return await new Promise<number>((done) => child.on('exit', (code) => done(code ?? 0)));
      }
    }
    if (!args.values.json && !args.values.team)
      io.out('Electron is not installed here: starting the workbench in web mode.');
    return serveWorkbenchCommand(args, io, { afterStart: trainDemoModel });
  },
};
