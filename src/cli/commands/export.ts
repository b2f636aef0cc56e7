import type { Store } from '../../store/index.js';
import type { Command } from '../command.js';
import { UserError } from '../errors.js';
import { createProgress } from '../progress.js';
import { withStore } from '../store.js';

/** A dataset named by name or by numeric id. */
export function resolveDataset(store: Store, ref: string) {
  const ds =
    store.datasets.getByName(ref) ?? (/^\d+$/.test(ref) ? store.datasets.getById(Number(ref)) : undefined);
  if (!ds) {
    const names = store.datasets.list().map((d) => d.name);
    throw new UserError(
      `no dataset "${ref}" in ${store.path}` +
        (names.length ? ` (datasets: ${names.join(', ')})` : ' (the store is empty)'),
    );
  }
  return ds;
}

export const exportCommand: Command = {
  name: 'export',
  summary:
    'Export a dataset as a PASCAL VOC devkit folder (images, annotations, image sets, masks, manifest).',
  usage: 'xwb export <dataset> <outDir> [--db PATH] [--json]',
  positionals: [2, 2],
  options: {},
  async run(args, io) {
    const { exportDataset } = await import('../../data/export/export.js');
    return withStore(args, (store) => {
      const ds = resolveDataset(store, args.positionals[0]);
      const bar = createProgress('export', { enabled: io.interactive && !args.values.json });
      const report = exportDataset(store, ds.id, args.positionals[1], {
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.done();
      if (args.values.json) io.out(JSON.stringify(report, null, 2));
      else
        io.out(`exported "${ds.name}": ${report.images} images, ${report.masks} masks to ${report.outDir}`);
      return 0;
    });
  },
};
