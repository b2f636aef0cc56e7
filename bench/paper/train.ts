/**
 * Trains every model of the reproduction, one `xwb train` per experiment, `--jobs` at a time (default 2), and
 * records each finished run's summary (run id, per-phase accuracy, timing, dead-explainer stops) in
 * results.json under "runs". Finished experiments are skipped, so the script can be re-run after a crash or a
 * time-out; an unfinished one starts again from scratch (its half-run stays in the store, marked failed).
 *
 * Scale-down (the paper: 3 phases × 50 epochs × 50 steps × batch 8 = 20,000 images per phase at 224 px): here
 * one epoch is a full pass over the 750 training images, and the phases get EPOCHS_EXPCLASS epochs.
 *
 * L1 (the paper's Keras activity-regulariser factors w, summed over the 224×224 map of each of the 8 images of a
 * batch, added to a batch-MEAN cross-entropy): λ = w·224·224·8 in our mean convention, so that a factor keeps
 * the strength it had against the cross-entropy in the paper; α = 1/(1 + λ) (see kerasL1ToMeanWeight,
 * meanWeightToAlpha). `--l1-keras w` would convert at OUR input size (64 px) and give a λ (224/64)² = 12.25
 * times weaker, which is why it is not used here.
 *
 * Run: node --import tsx bench/paper/train.ts [--jobs 2] [--only key,key] [--list]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  BUDGET_FACTORS,
  budgetKey,
  DB,
  FROZEN_FACTORS,
  frozenKey,
  type Json,
  LOGS,
  RIEGER_FT_LAMBDAS,
  RIEGER_MAX_EPOCHS,
  readResults,
  riegerFtKey,
  saveResult,
  xwb,
} from './common.js';
import { buildDatasets } from './datasets.js';

export const PAPER_SIZE = 224;
export const PAPER_BATCH = 8;
/** In the order they are run: the paper's chosen factor first, so it finishes even if time runs out. */
export const KERAS_FACTORS = [1e-6, 1e-4, 1e-8] as const;
/** λ in our mean convention for a Keras factor as the paper applied it (224 px, batch 8). */
export const paperLambda = (w: number): number =>
  Number((w * PAPER_SIZE * PAPER_SIZE * PAPER_BATCH).toPrecision(6));

export const EPOCHS_CLASSIFIER = 8;
export const EPOCHS_EXPCLASS = '2,2,4';
/**
 * Width of the first stage (the paper: 32). Halved because the machine, shared with other jobs, gave each
 * training process a fifth of a core at times: a quarter of the convolution FLOPs is what made the whole set
 * of runs fit the time box.
 */
export const BASE = 16;
const COMMON = ['--size', '64', '--engine', 'wasm', '--seed', '1', '--batch', String(PAPER_BATCH)];

export interface Experiment {
  key: string;
  dataset: string;
  label: string;
  args: string[];
  /** Starts from this experiment's run (`--init-from RUN`): it is run first, and this one waits for it. */
  initFrom?: string;
}

/**
 * The paper's budget, 50 epochs × 50 steps × batch 8 = 20,000 images per phase, is 27 passes over the 750
 * training images. The sweep shares one classifier phase (today's defaults: Adam, batch norm in both nets) and
 * fine-tunes the explainer and joint phases from it at each factor, so that the factors differ in L1 only.
 */
export const BUDGET_EPOCHS = 27;
const BUDGET_COMMON = ['--model', 'expclass', '--base', String(BASE), '--patience', '0'];

export const EXPERIMENTS: Experiment[] = [
  {
    key: 'classifier',
    dataset: 'rt-plain',
    label: 'classifier alone',
    args: ['--model', 'classifier', '--base', String(BASE), '--epochs', String(EPOCHS_CLASSIFIER)],
  },
  ...KERAS_FACTORS.map((w) => ({
    key: `expclass-l1-${w.toExponential()}`,
    dataset: 'rt-plain',
    label: `explainer+classifier, L1 ${w.toExponential()} (λ = ${paperLambda(w).toPrecision(3)})`,
    args: [
      '--model',
      'expclass',
      '--base',
      String(BASE),
      '--epochs',
      EPOCHS_EXPCLASS,
      '--l1',
      String(paperLambda(w)),
    ],
  })),
  {
    key: 'expclass-l1-0',
    dataset: 'rt-plain',
    label: 'explainer+classifier, no L1 (λ = 0)',
    args: ['--model', 'expclass', '--base', String(BASE), '--epochs', EPOCHS_EXPCLASS, '--l1', '0'],
  },
  {
    key: 'expclass-colour-l1-0',
    dataset: 'rt-colour',
    label: 'explainer+classifier, colour cue, no L1',
    args: ['--model', 'expclass', '--base', String(BASE), '--epochs', EPOCHS_EXPCLASS, '--l1', '0'],
  },
  // Rieger: a small CNN on three shape classes, with and without the block-diagonal L1 on its dense layers.
  ...[0, 1e-3, 1e-2, 1e-1, 1].map((lambda) => ({
    key: `rieger-block-${lambda}`,
    dataset: 'rieger-shapes',
    label: `small CNN (base 8), block-diagonal L1 λ = ${lambda}`,
    args: ['--model', 'classifier', '--base', '8', '--epochs', '8', '--block-l1', String(lambda)],
  })),
  // Extra, run once the machine was free: the classifier alone with the paper's training budget for one
  // phase (27 epochs × 750 ≈ 50 × 50 × 8 images).
  {
    key: 'classifier-long',
    dataset: 'rt-plain',
    label: "classifier alone, 27 epochs (the paper's budget)",
    args: ['--model', 'classifier', '--base', String(BASE), '--epochs', '27', '--patience', '0'],
  },
  // The paper's budget with today's defaults (fifth session): the classifier phase alone, then the L1 sweep.
  {
    key: 'budget-classifier',
    dataset: 'rt-plain',
    label: `classifier phase alone, ${BUDGET_EPOCHS} epochs (the paper's budget; shared by the sweep)`,
    args: [...BUDGET_COMMON, '--phases', 'classifier', '--epochs', String(BUDGET_EPOCHS)],
  },
  ...BUDGET_FACTORS.map((w) => ({
    key: budgetKey(w),
    dataset: 'rt-plain',
    label: `explainer+classifier at the paper's budget, L1 ${w === 0 ? '0' : w.toExponential()} (λ = ${paperLambda(w).toPrecision(3)})`,
    initFrom: 'budget-classifier',
    args: [
      ...BUDGET_COMMON,
      '--phases',
      'explainer,joint',
      '--epochs',
      `${BUDGET_EPOCHS},${BUDGET_EPOCHS}`,
      '--l1',
      String(paperLambda(w)),
    ],
  })),
  // The sweep again with `--frozen-statistics` in the explainer phase: short (5 + 5 epochs) for every factor, and
  // at the paper's budget for the factors that localise.
  ...[true, false].flatMap((short) =>
    FROZEN_FACTORS.map((w) => ({
      key: frozenKey(w, short),
      dataset: 'rt-plain',
      label: `${short ? '5 + 5 epochs' : "the paper's budget"}, frozen statistics, L1 ${w === 0 ? '0' : w.toExponential()} (λ = ${paperLambda(w).toPrecision(3)})`,
      initFrom: 'budget-classifier',
      args: [
        ...BUDGET_COMMON,
        '--phases',
        'explainer,joint',
        '--epochs',
        short ? '5,5' : `${BUDGET_EPOCHS},${BUDGET_EPOCHS}`,
        '--l1',
        String(paperLambda(w)),
        '--frozen-statistics',
      ],
    })),
  ),
  // Rieger's own protocol (§6): pre-train without the penalty until the validation loss has not improved for three
  // epochs, then fine-tune that network with the block-diagonal L1 until it stops improving for three epochs, at
  // her λ values (and 0: the same extra epochs without the penalty, so the effect of fine-tuning alone shows).
  {
    key: 'rieger-pretrained',
    dataset: 'rieger-shapes',
    label: 'small CNN (base 8), pre-trained without the penalty (Rieger §6 baseline)',
    args: ['--model', 'classifier', '--base', '8', '--epochs', String(RIEGER_MAX_EPOCHS), '--patience', '3'],
  },
  ...RIEGER_FT_LAMBDAS.map((lambda) => ({
    key: riegerFtKey(lambda),
    dataset: 'rieger-shapes',
    label: `small CNN (base 8), fine-tuned from the pre-trained one, block-diagonal L1 λ = ${lambda}`,
    initFrom: 'rieger-pretrained',
    args: [
      '--model',
      'classifier',
      '--epochs',
      String(RIEGER_MAX_EPOCHS),
      '--patience',
      '3',
      '--block-l1',
      String(lambda),
    ],
  })),
  // Optional, last: the paper-faithful VGG blocks, for the majority-rate check.
  {
    key: 'classifier-nobn',
    dataset: 'rt-plain',
    label: 'classifier alone, no batch norm (paper-faithful blocks)',
    args: [
      '--model',
      'classifier',
      '--base',
      String(BASE),
      '--epochs',
      String(EPOCHS_CLASSIFIER),
      '--no-batchnorm',
    ],
  },
];

interface PhaseSummary {
  phase: string;
  epochs: number;
  plannedEpochs: number;
  stoppedBy: string | null;
  best: { epoch: number; valLoss: number; valAcc: number } | null;
  final: { epoch: number; loss: number; acc: number; valLoss: number; valAcc: number } | null;
  seconds: number;
  imagesPerSecond: number;
}
interface TrainSummary {
  runId: number;
  status: string;
  engine: string;
  device: string;
  phases: PhaseSummary[];
  warnings: string[];
  seconds: number;
}

/** The run id of a finished experiment this one starts from; waits while another worker is still training it. */
async function sourceRun(key: string): Promise<number | undefined> {
  for (;;) {
    const r = readResults().runs?.[key] as { runId?: number; status?: string } | undefined;
    if (r) return r.status === 'done' && typeof r.runId === 'number' ? r.runId : undefined;
    if (!running.has(key)) return undefined;
    await new Promise((done) => setTimeout(done, 10_000));
  }
}
const running = new Set<string>();

async function runOne(e: Experiment, datasetId: number): Promise<void> {
  const log = path.join(LOGS, `train-${e.key}.log`);
  let init: string[] = [];
  if (e.initFrom) {
    const source = await sourceRun(e.initFrom);
    if (source === undefined) {
      console.error(`${e.key}: skipped, it starts from ${e.initFrom}, which has not finished (run it first)`);
      return;
    }
    init = ['--init-from', String(source)];
  }
  const args = ['train', String(datasetId), ...COMMON, ...e.args, ...init, '--db', DB, '--json'];
  const started = Date.now();
  const r = await xwb(args, log);
  if (r.code !== 0) {
    console.error(`${e.key}: xwb train failed (exit ${r.code}), see ${log}`);
    return;
  }
  const s = JSON.parse(r.stdout) as TrainSummary;
  const value: Json = {
    label: e.label,
    dataset: e.dataset,
    args: e.args,
    runId: s.runId,
    status: s.status,
    engine: s.engine,
    device: s.device,
    seconds: s.seconds,
    wallSeconds: (Date.now() - started) / 1000,
    warnings: s.warnings,
    phases: s.phases as unknown as Json,
  };
  saveResult('runs', e.key, value);
  const last = s.phases.at(-1);
  console.log(
    `${e.key}: run ${s.runId} ${s.status} in ${s.seconds.toFixed(0)} s, final val acc ${last?.final?.valAcc ?? 'n/a'}`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { jobs: { type: 'string', default: '2' }, only: { type: 'string' }, list: { type: 'boolean' } },
  });
  if (values.list) {
    for (const e of EXPERIMENTS)
      console.log(`${e.key.padEnd(28)} ${e.dataset.padEnd(14)} ${e.args.join(' ')}`);
    return;
  }
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new Error(`--jobs must be a whole number ≥ 1, got ${values.jobs}`);
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((k) => !EXPERIMENTS.some((e) => e.key === k)) ?? [];
  if (unknown.length > 0) throw new Error(`--only: unknown experiment(s) ${unknown.join(', ')} (see --list)`);
  const ids = await buildDatasets();
  const done = readResults().runs ?? {};
  const queue = EXPERIMENTS.filter((e) => (only ? only.includes(e.key) : true) && !(e.key in done));
  // A source is trained before what starts from it (it is in the queue, or already done).
  for (const e of queue) {
    if (e.initFrom && !(e.initFrom in done) && !queue.some((q) => q.key === e.initFrom))
      throw new Error(`${e.key} starts from ${e.initFrom}: add it to --only or run it first`);
  }
  console.log(
    `${queue.length} experiment(s) to run, ${jobs} at a time: ${queue.map((e) => e.key).join(', ')}`,
  );
  const worker = async () => {
    for (let e = queue.shift(); e; e = queue.shift()) {
      // Another invocation (say one started with --only) may have finished it meanwhile.
      if (e.key in (readResults().runs ?? {})) continue;
      running.add(e.key);
      try {
        await runOne(e, ids[e.dataset]);
      } finally {
        running.delete(e.key);
      }
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
}

await main();
