import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDemoDataset } from '../../data/demo.js';
import type { Store } from '../../store/index.js';
import type { Command, Io } from '../command.js';
import { createProgress } from '../progress.js';
import { openCliStore } from '../store.js';
import { formatDatasetSummary } from './datasets.js';
import { serveCommand } from './serve.js';

/** Generates and imports the demo dataset when the store has no dataset yet. */
export async function ensureDemo(store: Store, io: Io, quiet: boolean): Promise<void> {
  const bar = createProgress('demo data', { enabled: io.interactive && !quiet });
  const report = await ensureDemoDataset(store, (d, t) => bar.update(d, t));
  bar.done();
  if (report && !quiet) io.out(`generated the demo dataset in ${report.dataset.sourcePath}`);
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
    'A new store gets a generated demo dataset. --headless prints what the store holds and exits.',
  usage: 'xwb start [--db PATH] [--headless] [--port N] [--host IP] [--allow-non-loopback] [--json]',
  positionals: [0, 0],
  options: {
    headless: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
    'allow-non-loopback': { type: 'boolean' },
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
    const electron = electronBinary();
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
    io.out('Electron is not installed here: starting the workbench in web mode.');
    return serveCommand.run(args, io);
  },
};
