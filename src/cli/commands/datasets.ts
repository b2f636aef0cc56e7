import type { DatasetSummary } from '../../store/index.js';
import type { Command } from '../command.js';
import { withStore } from '../store.js';

export function formatDatasetSummary(d: DatasetSummary): string[] {
  const lines = [`${d.id}  ${d.name}  (${d.kind}, ${d.imageCount} images, ${d.objectCount} boxes)`];
  if (d.sourcePath) lines.push(`    source: ${d.sourcePath}`);
  lines.push(
    `    classes: ${d.classes.join(', ') || '(none)'}${d.targetClass ? `  target: ${d.targetClass}` : ''}`,
  );
  const labels = d.labelCounts.map((l) => `${l.label ?? '(unlabelled)'} ${l.count}`).join(', ');
  if (labels) lines.push(`    labels: ${labels}`);
  const s = d.splitCounts;
  lines.push(
    `    splits: train ${s.train}, val ${s.val}, test ${s.test}${s.unassigned ? `, none ${s.unassigned}` : ''}`,
  );
  const sizes = d.sizes
    .slice(0, 3)
    .map((z) => `${z.width}x${z.height} (${z.count})`)
    .join(', ');
  if (sizes) lines.push(`    sizes: ${sizes}${d.sizes.length > 3 ? `, … ${d.sizes.length} sizes` : ''}`);
  return lines;
}

export const datasetsCommand: Command = {
  name: 'datasets',
  summary: 'List the datasets in the store with their classes, label and split counts and image sizes.',
  usage: 'xwb datasets [--db PATH] [--json]',
  positionals: [0, 0],
  options: {},
  async run(args, io) {
    return withStore(args, (store) => {
      const list = store.datasets.list();
      if (args.values.json) {
        io.out(JSON.stringify({ store: store.path, datasets: list }, null, 2));
        return 0;
      }
      if (list.length === 0) {
        io.out(`no datasets in ${store.path} yet: try "xwb generate demo && xwb import demo"`);
        return 0;
      }
      io.out(`store: ${store.path}`);
      for (const d of list) for (const line of formatDatasetSummary(d)) io.out(line);
      return 0;
    });
  },
};
