import path from 'node:path';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { UsageError, UserError } from '../errors.js';
import { createProgress } from '../progress.js';
import { withStore } from '../store.js';
import { parseShared, sharedOptions, usage, withInterrupt } from './explain.js';

export const evalCommand: Command = {
  name: 'eval',
  summary:
    "Measure a run's explanations: explain (from the cache when present), run the metrics with the explained " +
    "class's ground-truth boxes, store every value, print method × metric means with 95% CIs. Default metrics: " +
    'localisation, complexity, random-logit, diffusion; name faithfulness or model-parameter-randomisation ' +
    '(or "all") to add the expensive ones. Default class: target.',
  usage:
    'xwb eval <run> [--methods …|all] [--metrics default|all|family|name,…] [--split val] ' +
    '[--class target|predicted|N] [--limit N] [--batch 8] [--encoding f16|f32] [--engine E] [--db PATH] ' +
    '[--json] [--csv FILE]',
  positionals: [1, 1],
  options: { ...sharedOptions, metrics: { type: 'string' }, csv: { type: 'string' } },
  async run(args, io) {
    const a = parseShared(args, 'target');
    const json = args.values.json === true;
    const csv = stringOption(args.values, 'csv');
    if (csv !== undefined && csv.trim() === '') throw new UsageError('--csv needs a file name');
    const { initEngine } = await import('../../engine/select.js');
    const { loadRunModel } = await import('../../explain/run-model.js');
    const { evaluateRun, formatTable, resolveMethods, resolveMetrics, toCsv, toJson } = await import(
      '../../evaluate/index.js'
    );
    const { listSplit } = await import('../../training/data/load.js');
    const { writeFileAtomic } = await import('../../util/atomic.js');
    const metrics = usage(() => resolveMetrics(stringOption(args.values, 'metrics')));
    const info = await initEngine(a.engine ? { prefer: a.engine } : {});
    return withStore(args, async (store) => {
      if (!store.runs.get(a.runId)) throw new UserError(`no run ${a.runId} in ${store.path}`);
      const rm = await loadRunModel(store, a.runId);
      try {
        const methods = usage(() => resolveMethods(a.methods, rm.config.model.kind));
        const images = listSplit(store, rm.datasetId, a.split).slice(0, a.limit);
        if (images.length === 0) throw new UserError(`run ${a.runId}'s dataset has no ${a.split} images`);
        // One bar over the whole evaluation: its units (a method explained, a metric run, a randomisation
        // stage, per chunk of images) are alike from chunk to chunk, so the ETA holds after the first few.
        const bar = createProgress('eval', { enabled: io.interactive && !json, etaFromFirstUpdate: true });
        const result = await withInterrupt((signal) =>
          evaluateRun(store, rm, {
            methods,
            metrics,
            imageIds: images.map((i) => i.id),
            classChoice: a.classChoice,
            batchSize: a.batchSize,
            encoding: a.encoding,
            signal,
            onProgress: (p) => {
              const what = p.phase === 'explain' ? `explain ${p.method}` : `${p.phase} ${p.metric ?? ''}`;
              bar.update(p.units, p.unitsTotal, `${p.done}/${p.total} images · ${what}`);
            },
          }),
        );
        bar.done();
        if (csv !== undefined) writeFileAtomic(csv, toCsv(result.rows));
        if (json) {
          io.out(JSON.stringify(toJson(result, { engine: info.name, split: a.split }), null, 2));
        } else {
          const explained = result.methods
            .map((m) => `${m.method} ${m.computed} new/${m.cached} cached`)
            .join(', ');
          io.out(
            `run ${a.runId} on ${info.name}: ${result.images} ${a.split} image(s), class ${a.classChoice}; ` +
              `maps: ${explained}; ${result.values} values stored`,
          );
          io.out(
            'mean [95% CI] over images (NaN: images where the metric is undefined, e.g. no box of the class)',
          );
          for (const line of formatTable(result)) io.out(line);
          if (csv !== undefined) io.out(`table written to ${path.resolve(csv)}`);
        }
        return 0;
      } finally {
        rm.dispose();
      }
    });
  },
};
