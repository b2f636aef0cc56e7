import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultStorePath } from '../../store/index.js';
import type { Command } from '../command.js';
import { createProgress } from '../progress.js';
import { withStore } from '../store.js';
import { formatDatasetSummary } from './datasets.js';

/** The built-in demo: the paper's task (a triangle among circles) at a size that trains in minutes. */
export const DEMO_OPTIONS = {
  images: 200,
  positives: 124,
  width: 64,
  height: 64,
  shapesPerImage: 6,
  seed: 2019,
};

export const startCommand: Command = {
  name: 'start',
  summary:
    'Start the workbench. Until the desktop shell lands this is the headless demo: it generates a demo dataset into ' +
    'the default store on first use and prints what the store holds.',
  usage: 'xwb start [--db PATH] [--json]',
  positionals: [0, 0],
  options: {},
  async run(args, io) {
    const db = typeof args.values.db === 'string' ? args.values.db : defaultStorePath();
    return withStore({ ...args, values: { ...args.values, db } }, async (store) => {
      if (store.datasets.list().length === 0) {
        const { generateDataset } = await import('../../data/synthetic/generate.js');
        const { importDataset } = await import('../../data/import/import.js');
        const dir = join(dirname(store.path), 'demo-triangles');
        if (!existsSync(dir)) {
          const bar = createProgress('demo data', { enabled: io.interactive && !args.values.json });
          await generateDataset(dir, DEMO_OPTIONS, (d, t) => bar.update(d, t));
          bar.done();
        }
        await importDataset(store, dir, { name: 'demo-triangles' });
        if (!args.values.json) io.out(`generated the demo dataset in ${dir}`);
      }
      const list = store.datasets.list();
      if (args.values.json) {
        io.out(JSON.stringify({ store: store.path, datasets: list }, null, 2));
        return 0;
      }
      io.out(`xwb workbench (headless demo) — store: ${store.path}`);
      for (const d of list) for (const line of formatDatasetSummary(d)) io.out(line);
      io.out('next: xwb datasets, xwb export <dataset> <dir>, xwb generate <dir> --help');
      return 0;
    });
  },
};
