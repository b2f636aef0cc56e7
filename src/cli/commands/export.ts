import type { Store } from '../../store/index.js';
import type { Command } from '../command.js';
import { UsageError, UserError } from '../errors.js';
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

const WITH = ['ratings', 'masks', 'explanations'] as const;

/** `--with ratings,masks` → the parts, checked; `all` means every part. */
function parseWith(v: unknown): (typeof WITH)[number][] {
  if (v === undefined) return [];
  const parts = String(v)
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.includes('all')) return [...WITH];
  for (const p of parts) {
    if (!(WITH as readonly string[]).includes(p)) {
      throw new UsageError(`--with: unknown part "${p}" (choose from ${WITH.join(', ')}, or all)`);
    }
  }
  if (parts.length === 0) throw new UsageError(`--with needs a list of parts: ${WITH.join(', ')}, or all`);
  return parts as (typeof WITH)[number][];
}

export const exportCommand: Command = {
  name: 'export',
  summary:
    'Export a dataset as a PASCAL VOC devkit folder (images, annotations, image sets, masks, manifest); --with adds ' +
    "ratings (sessions, ratings, the rated explanations), masks (people's boxes and masks) and explanations " +
    '(maps as .f32 and 16-bit PNG, metrics), with a SHA-256 manifest. xwb import restores all of it.',
  usage: 'xwb export <dataset> <outDir> [--with ratings,masks,explanations|all] [--db PATH] [--json]',
  positionals: [2, 2],
  options: { with: { type: 'string' } },
  async run(args, io) {
    const extras = parseWith(args.values.with);
    const { exportDataset } = await import('../../data/export/export.js');
    const { exportRatedDataset } = await import('../../review/exchange/export.js');
    return withStore(args, (store) => {
      const ds = resolveDataset(store, args.positionals[0]);
      const bar = createProgress('export', { enabled: io.interactive && !args.values.json });
      const onProgress = (d: number, t: number) => bar.update(d, t);
      const out = args.positionals[1];
      const rated =
        extras.length > 0 ? exportRatedDataset(store, ds.id, out, { with: extras, onProgress }) : undefined;
      const report = rated ?? exportDataset(store, ds.id, out, { onProgress });
      bar.done();
      if (args.values.json) io.out(JSON.stringify(report, null, 2));
      else {
        io.out(`exported "${ds.name}": ${report.images} images, ${report.masks} masks to ${report.outDir}`);
        if (rated) {
          io.out(
            `with ${rated.with.join(', ')}: ${rated.ratings} ratings in ${rated.sessions} session(s) by ` +
              `${rated.people} people, ${rated.explanations} explanations from ${rated.runs} run(s), ` +
              `${rated.annotatorBoxes} annotator boxes, ${rated.extraMasks} masks`,
          );
          for (const w of rated.warnings) io.err(`warning: ${w}`);
        }
      }
      return 0;
    });
  },
};
