import { type Command, intOption, numberOption, stringOption } from '../command.js';
import { createProgress } from '../progress.js';
import { withStore } from '../store.js';

const MAX_LISTED = 20;

export const importCommand: Command = {
  name: 'import',
  summary:
    'Import a dataset folder (VOC devkit, images with .xml files, class-per-folder, or xwb generate output) into the store.',
  usage:
    'xwb import <dir> [--name NAME] [--target CLASS] [--val F] [--split-seed K] [--max-pixels N] [--db PATH] [--json]',
  positionals: [1, 1],
  options: {
    name: { type: 'string' },
    target: { type: 'string' },
    val: { type: 'string' },
    'split-seed': { type: 'string' },
    'max-pixels': { type: 'string' },
  },
  async run(args, io) {
    const { importDataset } = await import('../../data/import/import.js');
    const { DEFAULT_MAX_PIXELS } = await import('../../data/limits.js');
    const { DECODER_MAX_PIXELS } = await import('../../data/bmp.js');
    const { values, positionals } = args;
    return withStore(args, async (store) => {
      const bar = createProgress('import', { enabled: io.interactive && !values.json });
      const report = await importDataset(store, positionals[0], {
        name: stringOption(values, 'name'),
        target: stringOption(values, 'target'),
        valFraction: numberOption(values, 'val', 0.25, 0, 1),
        splitSeed: intOption(values, 'split-seed', 0, 0, 2 ** 32 - 1),
        maxPixels: intOption(values, 'max-pixels', DEFAULT_MAX_PIXELS, 1, DECODER_MAX_PIXELS),
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.done();
      if (values.json) {
        io.out(JSON.stringify({ ...report, store: store.path }, null, 2));
      } else {
        const im = report.images;
        io.out(
          `${report.created ? 'imported' : 're-imported'} "${report.dataset.name}" (${report.layout}) into ${store.path}: ` +
            `${im.found} images found, ${im.inserted} new, ${im.updated} updated, ${im.unchanged} unchanged, ${im.failed} skipped; ` +
            `${report.objects} boxes, ${report.masks} masks`,
        );
        io.out(`classes: ${report.dataset.classes.join(', ') || '(none)'}`);
        for (const note of report.notes) io.out(`note: ${note}`);
        for (const w of report.warnings.slice(0, MAX_LISTED)) {
          io.err(`warning: ${w.file}${w.object !== undefined ? ` (object ${w.object})` : ''}: ${w.message}`);
        }
        if (report.warnings.length > MAX_LISTED) {
          io.err(`… and ${report.warnings.length - MAX_LISTED} more warnings (see --json for all)`);
        }
        for (const e of report.errors.slice(0, MAX_LISTED)) io.err(`skipped: ${e.message}`);
        if (report.errors.length > MAX_LISTED) {
          io.err(`… and ${report.errors.length - MAX_LISTED} more skipped files (see --json for all)`);
        }
      }
      // Partial success is still success for the images that went in, but scripts must be able to tell.
      return report.errors.length > 0 ? 3 : 0;
    });
  },
};
