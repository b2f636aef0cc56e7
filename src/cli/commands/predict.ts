import path from 'node:path';
import type { SplitName } from '../../data/types.js';
import { isEngineName } from '../../engine/types.js';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { UsageError, UserError } from '../errors.js';
import { createProgress } from '../progress.js';
import { withStore } from '../store.js';

const SPLITS: SplitName[] = ['train', 'val', 'test', 'trainval'];

export const predictCommand: Command = {
  name: 'predict',
  summary:
    "Classify images with a run's final model and show its explanation maps; --out writes each map as a " +
    "16-bit grey PNG and a raw .f32 file at the image's resolution.",
  usage:
    'xwb predict <run> [image files…] [--split val|train|test|trainval] [--out DIR] [--engine E] [--db PATH] [--json]',
  positionals: [1, 10_000],
  options: {
    split: { type: 'string' },
    out: { type: 'string' },
    engine: { type: 'string' },
  },
  async run(args, io) {
    const [runRef, ...files] = args.positionals;
    if (!/^\d+$/.test(runRef)) throw new UsageError(`<run> must be a run id, got "${runRef}"`);
    const runId = Number(runRef);
    const split = stringOption(args.values, 'split');
    if (split !== undefined && !SPLITS.includes(split as SplitName)) {
      throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got "${split}"`);
    }
    if ((split === undefined) === (files.length === 0)) {
      throw new UsageError('give image files or --split (not both)');
    }
    const engine = stringOption(args.values, 'engine');
    if (engine !== undefined && !isEngineName(engine)) {
      throw new UsageError(`--engine must be one of gpu, node, wasm, cpu, got "${engine}"`);
    }
    const out = stringOption(args.values, 'out');
    const json = args.values.json === true;
    const { initEngine } = await import('../../engine/select.js');
    const { predictImages } = await import('../../training/predict.js');
    const { listSplit } = await import('../../training/data/load.js');
    const { mapRange, writeMapFiles } = await import('../../training/mapfiles.js');
    const info = await initEngine(engine ? { prefer: engine } : {});
    return withStore(args, async (store) => {
      const run = store.runs.get(runId);
      if (run === undefined) throw new UserError(`no run ${runId} in ${store.path}`);
      const inputs =
        split !== undefined
          ? { imageIds: listSplit(store, run.datasetId, split as SplitName).map((i) => i.id) }
          : { files };
      const bar = createProgress('predict', { enabled: io.interactive && !json });
      const predictions = await predictImages(store, runId, inputs, {
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.done();
      const range = mapRange(
        run.model === 'xcnn' ? 'xcnn' : run.model === 'classifier' ? 'classifier' : 'expclass',
      );
      const rows = [];
      const used = new Set<string>();
      for (const p of predictions) {
        let written: { png: string; f32: string } | undefined;
        if (out !== undefined) {
          // Image ids keep names unique across sub-folders; files use their base name, numbered on a clash.
          let name = p.imageId !== null ? `${p.imageId}-${path.parse(p.file).name}` : path.parse(p.file).name;
          for (let k = 2; used.has(name); k++) name = `${path.parse(p.file).name}-${k}`;
          used.add(name);
          written = await writeMapFiles(out, name, p.explanation, p.width, p.height, range);
        }
        let sum = 0;
        for (const v of p.explanation) sum += v;
        rows.push({
          imageId: p.imageId,
          file: p.file,
          classIndex: p.classIndex,
          className: p.className,
          probs: p.probs,
          width: p.width,
          height: p.height,
          explanationMean: sum / p.explanation.length,
          ...(written ?? {}),
        });
      }
      if (json) {
        io.out(JSON.stringify({ runId, engine: info.name, device: info.device, predictions: rows }, null, 2));
      } else {
        io.out(`run ${runId} on engine ${info.name} (${info.device}): ${rows.length} image(s)`);
        for (const r of rows) {
          const p = Math.max(...r.probs);
          io.out(
            `${r.file}\t${r.className}\t${(p * 100).toFixed(1)}%\tmap mean ${r.explanationMean.toFixed(3)}`,
          );
        }
        if (out !== undefined) io.out(`maps written to ${path.resolve(out)}`);
      }
      return 0;
    });
  },
};
