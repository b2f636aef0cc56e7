import type { EngineName } from '../../engine/types.js';
import { isEngineName } from '../../engine/types.js';
import {
  FAITHFUL_MODEL,
  INIT_CHECKPOINTS,
  type InitCheckpoint,
  type InitFrom,
  type OptimizerName,
  onlyPhases,
  type PhaseName,
  selectPhases,
  type TrainConfigInput,
} from '../../training/config.js';
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
    const takes =
      phases.length === 1
        ? `1 value (for the phase ${phases[0]})`
        : `1 value or ${phases.length} (one per phase: ${phases.join(', ')})`;
    throw new UsageError(`--${name} takes ${takes}, got "${raw}"`);
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

/** `--init-from RUN [--init-checkpoint best|last]`, or null. */
export function initFromArgs(args: ParsedArgs): InitFrom | null {
  const raw = stringOption(args.values, 'init-from');
  const which = stringOption(args.values, 'init-checkpoint');
  if (raw === undefined) {
    if (which !== undefined) throw new UsageError('--init-checkpoint goes with --init-from RUN');
    return null;
  }
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--init-from takes a run id, got "${raw}"`);
  if (which !== undefined && !(INIT_CHECKPOINTS as readonly string[]).includes(which)) {
    throw new UsageError(`--init-checkpoint must be one of ${INIT_CHECKPOINTS.join(', ')}, got "${which}"`);
  }
  return { run: Number(raw), checkpoint: (which ?? 'best') as InitCheckpoint };
}

/**
 * The training config the options describe (validated later by resolveTrainConfig). `inherited` is the model kind
 * of the --init-from run: the kind when --model is not given, and then the model section is left for the source
 * run to fill in (init-from.ts).
 */
export function configFromArgs(args: ParsedArgs, datasetId: number, inherited?: Kind): TrainConfigInput {
  const v = args.values;
  const kind = (stringOption(v, 'model') ?? inherited ?? 'expclass') as Kind;
  if (!KINDS.includes(kind))
    throw new UsageError(`--model must be one of ${KINDS.join(', ')}, got "${kind}"`);
  const initFrom = initFromArgs(args);
  const selectedRaw = stringOption(v, 'phases');
  let phases: PhaseName[] = KIND_PHASES[kind];
  if (selectedRaw !== undefined) {
    try {
      phases = selectPhases(
        kind,
        selectedRaw.split(',').map((p) => p.trim()),
      );
    } catch (e) {
      throw new UsageError(`--phases: ${(e as Error).message.replace(/^training config: phases: /, '')}`);
    }
  }
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
  // With --init-from the source's model is the default; options given are checked against it.
  const model: NonNullable<TrainConfigInput['model']> =
    initFrom !== null && stringOption(v, 'model') === undefined ? {} : { kind };
  if (v.size !== undefined) model.inputSize = intOption(v, 'size', 224, 16, 4096);
  if (v.base !== undefined) model.base = intOption(v, 'base', 32, 1, 1024);
  if (v.faithful) Object.assign(model, FAITHFUL_MODEL);
  if (v['no-batchnorm']) model.batchNorm = false;
  const choice = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const x = stringOption(v, name);
    if (x === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(x))
      throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${x}"`);
    return x as T;
  };
  const upsample = choice('upsample', ['transpose', 'resize'] as const);
  if (upsample) model.explainerUpsample = upsample;
  const head = choice('head', ['tanh-relu', 'sigmoid'] as const);
  if (head) model.explainerHead = head;
  if (v['explainer-bias'] !== undefined)
    model.explainerBias = numberOption(v, 'explainer-bias', 0, -100, 100);
  if (v['explainer-bn'] && v['no-explainer-bn'])
    throw new UsageError('give --explainer-bn or --no-explainer-bn, not both');
  if (v['explainer-bn']) model.explainerBatchNorm = true;
  if (v['no-explainer-bn']) model.explainerBatchNorm = false;
  const gate = choice('gate', ['stages', 'input'] as const);
  if (gate) model.gateAt = gate;
  const fill = stringOption(v, 'mask-fill');
  if (fill !== undefined) model.maskFill = fill === 'auto' ? 'auto' : numberOption(v, 'mask-fill', 0.5, 0, 1);
  const loss: NonNullable<TrainConfigInput['loss']> = { l1 };
  if (v.beta !== undefined) loss.beta = numberOption(v, 'beta', 0.9, 0, 1);
  if (v.gamma !== undefined) loss.gamma = numberOption(v, 'gamma', 0, 0);
  const sparsity = choice('sparsity', ['absolute', 'relative'] as const);
  if (sparsity) loss.sparsity = sparsity;
  if (v.deletion !== undefined) loss.deletion = numberOption(v, 'deletion', 0, 0);
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
    phases: selectedRaw === undefined ? phaseInput : onlyPhases(kind, phases, phaseInput),
    ...(initFrom !== null ? { initFrom } : {}),
    loss,
    data,
    ...(v.seed !== undefined ? { seed: intOption(v, 'seed', 1, 0, 2 ** 31 - 1) } : {}),
    ...(v.patience !== undefined ? { patience: intOption(v, 'patience', 10, 0) } : {}),
    ...(v['frozen-statistics'] ? { frozenStatistics: true } : {}),
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

/** The map's spread within an image and across images, where it was measured. */
function mapSpread(m: Record<string, number>): string {
  const within = m.val_map_std;
  const across = m.val_map_across_std;
  if (!Number.isFinite(within) || !Number.isFinite(across)) return '';
  return ` (sd ${within.toFixed(3)} within, ${across.toFixed(3)} across images)`;
}

function epochLine(e: Extract<TrainEvent, { type: 'epoch' }>): string {
  const m = e.metrics;
  return (
    `${e.phase} ${e.epoch}/${e.epochs}  loss ${num(m.loss)} acc ${pct(m.acc)}  val_loss ${num(m.val_loss)} ` +
    `val_acc ${pct(m.val_acc)}  map ${m.val_expl_mean.toFixed(3)}${mapSpread(m)}  ${e.seconds.toFixed(1)}s${e.isBest ? '  *best' : ''}`
  );
}

/** A map warning as it happens: what is wrong, then what to change, on its own line so it is not missed. */
export function warningLines(e: Extract<TrainEvent, { type: 'warning' }>): string[] {
  return [`warning: ${e.message}`, `  what to change: ${e.advice}`];
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
    for (const o of ['init-from', 'init-checkpoint', 'phases']) {
      if (args.values[o] !== undefined) {
        throw new UsageError(
          `--${o} does not go with --resume: a resumed run keeps the config it was started with`,
        );
      }
    }
    resumeId = Number(resume);
  } else {
    if (args.positionals.length !== 1) throw new UsageError('name the dataset to train on (or --resume RUN)');
    const { prepareTrainConfig, sourceRunConfig } = await import('../../training/init-from.js');
    const store = openCliStore(args);
    try {
      const datasetId = resolveDataset(store, args.positionals[0]).id;
      const init = initFromArgs(args);
      let inherited: Kind | undefined;
      if (init !== null) {
        try {
          inherited = sourceRunConfig(store, init.run).config.model.kind;
        } catch (e) {
          throw new UsageError(
            `--init-from ${init.run}: ${(e as Error).message.replace(/^training config: initFrom.run: /, '')}`,
          );
        }
      }
      config = configFromArgs(args, datasetId, inherited);
      try {
        prepareTrainConfig(store, config); // fail here, with the option's name, rather than in the worker
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    } finally {
      store.close();
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
          if (e.initFrom) {
            const i = e.initFrom;
            io.out(`  starting from run ${i.runId}'s weights (${i.phase} epoch ${i.epoch})`);
          }
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
        io.err(warningLines(e).join('\n'));
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
    'and converts it at THIS input size and batch (λ = W·H·W·N), so the same factor is weaker at 64 px than at 224. ' +
    "--init-from RUN starts from another run's final (best) weights, keeping its model (the dataset must have the " +
    "same classes); --phases chooses which of the kind's phases run (the others get 0 epochs, and per-phase " +
    'options then take one value per chosen phase).',
  usage:
    'xwb train <dataset> [--model expclass|xcnn|classifier] [--size PX] [--base N] [--epochs 10,10,50] ' +
    '[--alpha 1,0.25,0.9] [--beta 0.9] [--gamma 0 --mask-source gt-boxes|gt-mask|annotator-boxes|regions|should-highlight|human] [--l1 W | --l1-keras W] [--optimizer sgd|adadelta|adam] ' +
    '[--lr 0.01,0.01,0.001] [--batch 8] [--seed K] [--patience N] [--no-batchnorm] [--flip] [--class-weights] ' +
    '[--faithful] [--upsample resize|transpose] [--head sigmoid|tanh-relu] [--explainer-bias B] [--explainer-bn | --no-explainer-bn] ' +
    '[--gate stages|input] [--mask-fill auto|V] [--frozen-statistics] ' +
    '[--block-l1 L] [--deletion D] [--sparsity absolute|relative] [--phases classifier,explainer,joint] [--init-from RUN [--init-checkpoint best|last]] [--replicas N|auto] [--micro-batch N|auto] [--engine gpu|node|wasm|cpu] [--db PATH] [--json] | xwb train --resume RUN [--force]',
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
    faithful: { type: 'boolean' },
    upsample: { type: 'string' },
    head: { type: 'string' },
    'explainer-bias': { type: 'string' },
    'explainer-bn': { type: 'boolean' },
    'no-explainer-bn': { type: 'boolean' },
    gate: { type: 'string' },
    'mask-fill': { type: 'string' },
    'frozen-statistics': { type: 'boolean' },
    flip: { type: 'boolean' },
    'class-weights': { type: 'boolean' },
    'block-l1': { type: 'string' },
    deletion: { type: 'string' },
    sparsity: { type: 'string' },
    'mask-source': { type: 'string' },
    replicas: { type: 'string' },
    'micro-batch': { type: 'string' },
    engine: { type: 'string' },
    resume: { type: 'string' },
    force: { type: 'boolean' },
    phases: { type: 'string' },
    'init-from': { type: 'string' },
    'init-checkpoint': { type: 'string' },
  },
  run: runTraining,
};
