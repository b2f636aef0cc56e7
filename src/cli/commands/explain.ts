import type { SplitName } from '../../data/types.js';
import { type EngineName, isEngineName } from '../../engine/types.js';
import type { ClassChoice } from '../../explain/store.js';
import type { Command, ParsedArgs } from '../command.js';
import { intOption, stringOption } from '../command.js';
import { UsageError, UserError } from '../errors.js';
import { createProgress } from '../progress.js';
import { withStore } from '../store.js';

const SPLITS: SplitName[] = ['train', 'val', 'test', 'trainval'];

/** Options `xwb explain` and `xwb eval` share. */
export const sharedOptions = {
  methods: { type: 'string' },
  split: { type: 'string' },
  class: { type: 'string' },
  limit: { type: 'string' },
  batch: { type: 'string' },
  encoding: { type: 'string' },
  engine: { type: 'string' },
} as const;

export interface SharedArgs {
  runId: number;
  split: SplitName;
  classChoice: ClassChoice;
  limit: number | undefined;
  batchSize: number;
  encoding: 'f16le-scaled' | 'f32le';
  engine: EngineName | undefined;
  methods: string | undefined;
}

export function parseClass(raw: string | undefined, def: ClassChoice): ClassChoice {
  if (raw === undefined) return def;
  if (raw === 'predicted' || raw === 'target') return raw;
  if (/^\d+$/.test(raw)) return Number(raw);
  throw new UsageError(`--class must be predicted, target or a class index, got "${raw}"`);
}

export function parseShared(args: ParsedArgs, defaultClass: ClassChoice): SharedArgs {
  const [runRef] = args.positionals;
  if (!/^\d+$/.test(runRef) || Number(runRef) < 1)
    throw new UsageError(`<run> must be a run id, got "${runRef}"`);
  const split = stringOption(args.values, 'split') ?? 'val';
  if (!SPLITS.includes(split as SplitName)) {
    throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got "${split}"`);
  }
  const engine = stringOption(args.values, 'engine');
  if (engine !== undefined && !isEngineName(engine)) {
    throw new UsageError(`--engine must be one of gpu, node, wasm, cpu, got "${engine}"`);
  }
  const encoding = stringOption(args.values, 'encoding') ?? 'f16';
  if (encoding !== 'f16' && encoding !== 'f32')
    throw new UsageError(`--encoding must be f16 or f32, got "${encoding}"`);
  const limit = args.values.limit === undefined ? undefined : intOption(args.values, 'limit', 0, 1);
  return {
    runId: Number(runRef),
    split: split as SplitName,
    classChoice: parseClass(stringOption(args.values, 'class'), defaultClass),
    limit,
    batchSize: intOption(args.values, 'batch', 8, 1, 256),
    encoding: encoding === 'f16' ? 'f16le-scaled' : 'f32le',
    engine,
    methods: stringOption(args.values, 'methods'),
  };
}

/** Runs a parser of user input, turning its error into a usage error (exit code 2). */
export function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Ctrl-C stops the work cleanly (maps stored so far stay stored) instead of killing the process mid-write. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () =>
    controller.abort(new UserError('interrupted; the maps computed so far are stored', 130));
  process.once('SIGINT', onSignal);
  try {
    return await fn(controller.signal);
  } catch (e) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
  }
}

export interface ConservationSummary {
  /** Maps with a defined conservation, and those without (a zero logit, or stored before it was reported). */
  n: number;
  missing: number;
  mean: number | null;
  min: number | null;
  max: number | null;
}

/**
 * Mean and range of the maps' conservation (Σ relevance ÷ explained logit); undefined for methods that do
 * not report it (every item undefined).
 */
export function summariseConservation(
  values: readonly (number | null | undefined)[],
): ConservationSummary | undefined {
  if (values.every((v) => v === undefined)) return undefined;
  const ok = values.filter((v): v is number => typeof v === 'number');
  return {
    n: ok.length,
    missing: values.length - ok.length,
    mean: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null,
    min: ok.length ? Math.min(...ok) : null,
    max: ok.length ? Math.max(...ok) : null,
  };
}

export function formatConservation(c: ConservationSummary): string {
  const f = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
  const gaps = c.missing > 0 ? `, ${c.missing} map(s) without it` : '';
  return `conservation (Σ relevance ÷ logit; 1 = all of the logit) mean ${f(c.mean)}, range ${f(c.min)}–${f(c.max)}${gaps}`;
}

export const explainCommand: Command = {
  name: 'explain',
  summary:
    "Explain a split's images with a run's final model and cache the maps in the store (class: predicted by " +
    'default). Methods: names, families or "all"; default explainer, gradient, gradcam.',
  usage:
    'xwb explain <run> [--methods gradient,gradcam,…|all] [--split val] [--class predicted|target|N] ' +
    '[--limit N] [--batch 8] [--encoding f16|f32] [--engine E] [--db PATH] [--json]',
  positionals: [1, 1],
  options: sharedOptions,
  async run(args, io) {
    const a = parseShared(args, 'predicted');
    const json = args.values.json === true;
    const { initEngine } = await import('../../engine/select.js');
    const { loadRunModel } = await import('../../explain/run-model.js');
    const { getOrCompute } = await import('../../explain/store.js');
    const { resolveMethods } = await import('../../evaluate/select.js');
    const { listSplit } = await import('../../training/data/load.js');
    const info = await initEngine(a.engine ? { prefer: a.engine } : {});
    return withStore(args, async (store) => {
      if (!store.runs.get(a.runId)) throw new UserError(`no run ${a.runId} in ${store.path}`);
      const rm = await loadRunModel(store, a.runId);
      try {
        const methods = usage(() => resolveMethods(a.methods, rm.config.model.kind));
        const images = listSplit(store, rm.datasetId, a.split).slice(0, a.limit);
        if (images.length === 0) throw new UserError(`run ${a.runId}'s dataset has no ${a.split} images`);
        const rows: {
          method: string;
          params: unknown;
          computed: number;
          cached: number;
          seconds: number;
          conservation?: ConservationSummary;
        }[] = [];
        await withInterrupt(async (signal) => {
          for (const method of methods) {
            const bar = createProgress(`explain ${method}`, { enabled: io.interactive && !json });
            const t0 = performance.now();
            const r = await getOrCompute(
              store,
              rm,
              images.map((i) => i.id),
              method,
              {},
              a.classChoice,
              {
                batchSize: a.batchSize,
                encoding: a.encoding,
                signal,
                onProgress: (p) =>
                  bar.update(p.done, p.total, p.cached > 0 ? `(${p.cached} cached)` : undefined),
              },
            );
            bar.done();
            const seconds = (performance.now() - t0) / 1000;
            const conservation = summariseConservation(r.items.map((i) => i.conservation));
            rows.push({
              method,
              params: r.params,
              computed: r.computed,
              cached: r.cached,
              seconds,
              ...(conservation ? { conservation } : {}),
            });
          }
        });
        if (json) {
          io.out(
            JSON.stringify(
              {
                runId: a.runId,
                engine: info.name,
                split: a.split,
                images: images.length,
                class: a.classChoice,
                methods: rows,
              },
              null,
              2,
            ),
          );
        } else {
          io.out(
            `run ${a.runId} on ${info.name} (${info.device}): ${images.length} ${a.split} image(s), class ${a.classChoice}`,
          );
          for (const r of rows) {
            const rate = r.computed > 0 ? `, ${(r.computed / r.seconds).toFixed(1)} images/s` : '';
            io.out(
              `  ${r.method.padEnd(22)} ${r.computed} computed, ${r.cached} cached, ${r.seconds.toFixed(1)} s${rate}`,
            );
            if (r.conservation) io.out(`  ${''.padEnd(22)} ${formatConservation(r.conservation)}`);
          }
        }
        return 0;
      } finally {
        rm.dispose();
      }
    });
  },
};
