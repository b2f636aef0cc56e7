import type { EngineName } from '../../engine/types.js';
import { isEngineName } from '../../engine/types.js';
import type { OptimizerName, PhaseName, TrainConfigInput } from '../../training/config.js';
import { MASK_SOURCES, type MaskSource } from '../../training/data/masks.js';
import type { TrainEvent, TrainResult } from '../../training/events.js';
import { type Command, type Io, intOption, numberOption, type ParsedArgs, stringOption } from '../command.js';
import { UsageError, UserError } from '../errors.js';
import { createProgress, formatDuration } from '../progress.js';
import { cliStorePath, openCliStore } from '../store.js';
import { resolveDataset } from './export.js';

const KINDS = ['expclass', 'xcnn', 'classifier'] as const;
type Kind = (typeof KINDS)[number];
const KIND_PHASES: Record<Kind, PhaseName[]> = {
  expclass: ['classifier', 'explainer', 'joint'],
  xcnn: ['joint'],
  classifier: ['classifier'],
};

/** A per-phase option: one value for every phase, or one per phase of the model kind. */
function perPhase<T>(
  args: ParsedArgs,
  name: string,
  phases: PhaseName[],
  parse: (text: string) => T,
): Partial<Record<PhaseName, T>> {
  const raw = stringOption(args.values, name);
  if (raw === undefined) return {};
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.length !== 1 && parts.length !== phases.length) {
    throw new UsageError(
      `--${name} takes 1 value or ${phases.length} (one per phase: ${phases.join(', ')}), got "${raw}"`,
    );
  }
  const out: Partial<Record<PhaseName, T>> = {};
  phases.forEach((p, i) => {
    out[p] = parse(parts.length === 1 ? parts[0] : parts[i]);
  });
  return out;
}

function number(name: string, integer: boolean) {
  return (text: string) => {
    const n = Number(text);
    if (text === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new UsageError(`--${name}: "${text}" is not a${integer ? ' whole' : ''} number`);
    }
    return n;
  };
}

function optimizer(text: string): OptimizerName {
  if (text !== 'sgd' && text !== 'adadelta' && text !== 'adam') {
    throw new UsageError(`--optimizer: "${text}" is not one of sgd, adadelta, adam`);
  }
  return text;
}

/** The training config the options describe (validated later by resolveTrainConfig). */
export function configFromArgs(args: ParsedArgs, datasetId: number): TrainConfigInput {
  const v = args.values;
  const kind = (stringOption(v, 'model') ?? 'expclass') as Kind;
  if (!KINDS.includes(kind))
    throw new UsageError(`--model must be one of ${KINDS.join(', ')}, got "${kind}"`);
  const phases = KIND_PHASES[kind];
  const epochs = perPhase(args, 'epochs', phases, number('epochs', true));
  const alpha = perPhase(args, 'alpha', phases, number('alpha', false));
  const lr = perPhase(args, 'lr', phases, number('lr', false));
  const opt = perPhase(args, 'optimizer', phases, optimizer);
  const phaseInput: NonNullable<TrainConfigInput['phases']> = {};
  for (const p of phases) {
    const entry = {
      ...(epochs[p] !== undefined ? { epochs: epochs[p] } : {}),
      ...(alpha[p] !== undefined ? { alpha: alpha[p] } : {}),
      ...(lr[p] !== undefined ? { lr: lr[p] } : {}),
      ...(opt[p] !== undefined ? { optimizer: opt[p] } : {}),
    };
    if (Object.keys(entry).length > 0) phaseInput[p] = entry;
  }
  if (v.l1 !== undefined && v['l1-keras'] !== undefined)
    throw new UsageError('give --l1 or --l1-keras, not both');
  const l1 =
    v.l1 !== undefined
      ? { weight: numberOption(v, 'l1', 0, 0), convention: 'mean' as const }
      : v['l1-keras'] !== undefined
        ? { weight: numberOption(v, 'l1-keras', 0, 0), convention: 'keras' as const }
        : null;
  const model: NonNullable<TrainConfigInput['model']> = { kind };
  if (v.size !== undefined) model.inputSize = intOption(v, 'size', 224, 16, 4096);
  if (v.base !== undefined) model.base = intOption(v, 'base', 32, 1, 1024);
  if (v['no-batchnorm']) model.batchNorm = false;
  const loss: NonNullable<TrainConfigInput['loss']> = { l1 };
  if (v.beta !== undefined) loss.beta = numberOption(v, 'beta', 0.9, 0, 1);
  if (v.gamma !== undefined) loss.gamma = numberOption(v, 'gamma', 0, 0);
  if (v['block-l1'] !== undefined) loss.blockDiagonal = numberOption(v, 'block-l1', 0, 0);
  if (v['class-weights']) loss.classWeights = true;
  const data: NonNullable<TrainConfigInput['data']> = {};
  if (v.batch !== undefined) data.batchSize = intOption(v, 'batch', 8, 1, 4096);
  if (v.flip) data.flip = true;
  if (v.replicas !== undefined) data.replicas = autoOrInt(v, 'replicas', 64);
  if (v['micro-batch'] !== undefined) data.microBatch = autoOrInt(v, 'micro-batch', 4096);
  const maskSource = stringOption(v, 'mask-source');
  if (maskSource !== undefined) {
    if (!(MASK_SOURCES as readonly string[]).includes(maskSource)) {
      throw new UsageError(`--mask-source must be one of ${MASK_SOURCES.join(', ')}, got "${maskSource}"`);
    }
    data.maskSource = maskSource as MaskSource;
  }
  return {
    datasetId,
    model,
    phases: phaseInput,
    loss,
    data,
    ...(v.seed !== undefined ? { seed: intOption(v, 'seed', 1, 0, 2 ** 31 - 1) } : {}),
    ...(v.patience !== undefined ? { patience: intOption(v, 'patience', 10, 0) } : {}),
  };
}

/** `--replicas auto` or a whole number (range checked again by resolveTrainConfig). */
function autoOrInt(v: ParsedArgs['values'], name: string, max: number): number | 'auto' {
  return stringOption(v, name) === 'auto' ? 'auto' : intOption(v, name, 1, 1, max);
}

function engineOption(args: ParsedArgs): EngineName | undefined {
  const e = stringOption(args.values, 'engine');
  if (e === undefined) return undefined;
  if (!isEngineName(e)) throw new UsageError(`--engine must be one of gpu, node, wasm, cpu, got "${e}"`);
  return e;
}

const pct = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '--' : `${(x * 100).toFixed(1)}%`;
const num = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));

function epochLine(e: Extract<TrainEvent, { type: 'epoch' }>): string {
  const m = e.metrics;
  return (
    `${e.phase} ${e.epoch}/${e.epochs}  loss ${num(m.loss)} acc ${pct(m.acc)}  val_loss ${num(m.val_loss)} ` +
    `val_acc ${pct(m.val_acc)}  map ${m.val_expl_mean.toFixed(3)}  ${e.seconds.toFixed(1)}s${e.isBest ? '  *best' : ''}`
  );
}

function summaryLines(r: TrainResult): string[] {
  const lines = [`run ${r.runId} ${r.status} in ${formatDuration(r.seconds)} (${r.folder})`];
  const { replicas, microBatch } = r.config.data;
  lines.push(
    `  engine ${r.engine}: ${replicas} replica${replicas === 1 ? '' : 's'}, ≤ ${microBatch} images per pass`,
  );
  for (const p of r.phases) {
    const best = p.best ? `best epoch ${p.best.epoch}: val_acc ${pct(p.best.valAcc)}` : 'no best epoch';
    const fin = p.final ? `final acc ${pct(p.final.acc)} val_acc ${pct(p.final.valAcc)}` : 'not run';
    const rate = p.imagesPerSecond ? `, ${p.imagesPerSecond.toFixed(1)} img/s` : '';
    const stop = p.stoppedBy ? ` (stopped: ${p.stoppedBy})` : '';
    lines.push(`  ${p.phase}: ${p.epochs}/${p.plannedEpochs} epochs${stop}, ${fin}, ${best}${rate}`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines;
}

async function runTraining(args: ParsedArgs, io: Io): Promise<number> {
  const json = args.values.json === true;
  const resume = stringOption(args.values, 'resume');
  const dbPath = cliStorePath(args);
  let config: TrainConfigInput | null = null;
  let resumeId: number | undefined;
  if (resume !== undefined) {
    if (!/^\d+$/.test(resume)) throw new UsageError(`--resume takes a run id, got "${resume}"`);
    resumeId = Number(resume);
  } else {
    if (args.positionals.length !== 1) throw new UsageError('name the dataset to train on (or --resume RUN)');
    const { resolveTrainConfig } = await import('../../training/config.js');
    const store = openCliStore(args);
    try {
      config = configFromArgs(args, resolveDataset(store, args.positionals[0]).id);
    } finally {
      store.close();
    }
    try {
      resolveTrainConfig(config); // fail here, with the option's name, rather than in the worker
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const { startTraining } = await import('../../training/background.js');
  const engine = engineOption(args);
  const handle = startTraining(dbPath, config, {
    ...(engine ? { engine } : {}),
    ...(resumeId !== undefined ? { resume: resumeId, force: args.values.force === true } : {}),
  });
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    io.err('xwb train: cancelling after the current step (Ctrl+C again to quit at once)');
    handle.cancel();
  };
  // A terminal's Ctrl+C and a supervisor's SIGTERM both end the run cleanly, marked cancelled, not left 'running'.
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const bar = createProgress('train', { enabled: io.interactive && !json });
  let totalSteps = 0;
  let doneSteps = 0;
  let planned: { phase: PhaseName; epochs: number }[] = [];
  try {
    for await (const e of handle.iterate()) {
      if (e.type === 'start') {
        planned = e.phases;
        if (!json) {
          const from = e.resumedFrom ? ` (continuing run ${e.resumedFrom})` : '';
          io.out(`run ${e.runId}${from}: ${e.model} on engine ${e.engine} (${e.device ?? 'unknown device'})`);
        }
      } else if (e.type === 'step') {
        if (totalSteps === 0) totalSteps = planned.reduce((s, p) => s + p.epochs * e.steps, 0);
        doneSteps++;
        bar.update(doneSteps, totalSteps, `${e.phase} ${e.epoch}`);
      } else if (e.type === 'epoch' && !json) {
        bar.done();
        io.out(epochLine(e));
      } else if (e.type === 'skipped') {
        bar.done();
        io.err(`warning: ${e.split} image left out, it cannot be read: ${e.message}`);
      } else if (e.type === 'warning') {
        bar.done();
        io.err(`warning: ${e.message}`);
      } else if (e.type === 'phase' && !json) {
        bar.done();
        io.out(`phase ${e.index + 1}/${e.count}: ${e.phase} (${e.epochs} epochs)`);
      }
    }
    const result = await handle.result;
    bar.done();
    if (json) io.out(JSON.stringify(result, null, 2));
    else for (const line of summaryLines(result)) io.out(line);
    return result.status === 'cancelled' ? 130 : 0;
  } catch (e) {
    bar.done();
    throw new UserError((e as Error).message);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

export const trainCommand: Command = {
  name: 'train',
  summary:
    'Train a model on a dataset in a background thread (three phases for expclass), with checkpoints in the ' +
    'run folder; Ctrl+C or SIGTERM cancels cleanly, --resume RUN continues a failed or cancelled run. --l1 W weights ' +
    "the mean |explanation|; --l1-keras W takes the 2019 paper's Keras factor, which summed over pixels and batch, " +
    'and converts it at THIS input size and batch (λ = W·H·W·N), so the same factor is weaker at 64 px than at 224.',
  usage:
    'xwb train <dataset> [--model expclass|xcnn|classifier] [--size PX] [--base N] [--epochs 10,10,50] ' +
    '[--alpha 1,0.25,0.9] [--beta 0.9] [--gamma 0 --mask-source gt-boxes|gt-mask|annotator-boxes|regions|should-highlight|human] [--l1 W | --l1-keras W] [--optimizer sgd|adadelta|adam] ' +
    '[--lr 0.01,0.01,0.001] [--batch 8] [--seed K] [--patience N] [--no-batchnorm] [--flip] [--class-weights] ' +
    '[--block-l1 L] [--replicas N|auto] [--micro-batch N|auto] [--engine gpu|node|wasm|cpu] [--db PATH] [--json] | xwb train --resume RUN [--force]',
  positionals: [0, 1],
  options: {
    model: { type: 'string' },
    size: { type: 'string' },
    base: { type: 'string' },
    epochs: { type: 'string' },
    alpha: { type: 'string' },
    beta: { type: 'string' },
    gamma: { type: 'string' },
    l1: { type: 'string' },
    'l1-keras': { type: 'string' },
    optimizer: { type: 'string' },
    lr: { type: 'string' },
    batch: { type: 'string' },
    seed: { type: 'string' },
    patience: { type: 'string' },
    'no-batchnorm': { type: 'boolean' },
    flip: { type: 'boolean' },
    'class-weights': { type: 'boolean' },
    'block-l1': { type: 'string' },
    'mask-source': { type: 'string' },
    replicas: { type: 'string' },
    'micro-batch': { type: 'string' },
    engine: { type: 'string' },
    resume: { type: 'string' },
    force: { type: 'boolean' },
  },
  run: runTraining,
};
