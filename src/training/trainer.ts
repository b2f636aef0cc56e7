/**
 * The trainer: a run in the store, its data, its phases, epochs, checkpoints and end state.
 *
 * Lifecycle: the run is created 'queued' with its config, engine and folder, goes 'running' once its data is
 * loaded, and ends 'done', 'cancelled' (the AbortSignal fired: the current step finishes, the checkpoints stay)
 * or 'failed' (the error is recorded and rethrown). Every epoch's metrics go to `store.runs.appendEpoch` (which
 * also keeps the run's phase/epoch current) before its checkpoint is written.
 *
 * Between phases the next phase starts from the best checkpoint (lowest validation loss, dead epochs excluded)
 * of the phase before. The first phase starts from fresh weights, or from another run's checkpoint when the
 * config has `initFrom` (fine-tuning, see init-from.ts). Early stopping: a phase ends after `patience` epochs without a better validation loss.
 *
 * Steps run on one engine, or through a ParallelTrainer (data.replicas engines on worker threads, passes of at
 * most data.microBatch images) when there is a second core to use or a batch would not fit one pass; the run
 * records the numbers it used. This thread's model stays the master: it holds the weights, the optimiser state
 * and the merged batch-norm statistics, so validation, checkpoints and the dead-explainer check read it as
 * before. Validation runs on this thread alone (inference is a fraction of an epoch's time).
 *
 * Reproducibility: weight initialisation and dropout come from the model seed, shuffles and flips from
 * (seed, phase, epoch); with the same config on the same engine and the same replicas two runs give the same
 * numbers.
 */
import path from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import { ParallelTrainer } from '../engine/parallel/index.js';
import type { tf } from '../engine/tf.js';
import type { EngineInfo } from '../engine/types.js';
import { buildClassifier, buildExpClass, buildXcnn, type XwbModel } from '../models/index.js';
import type { Checkpoint, Run, Store } from '../store/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { copyCheckpointFolder, loadCheckpoint, SUMMARY_FILE, saveCheckpoint } from './checkpoint.js';
import {
  activePhases,
  configToJson,
  modelOptions,
  type ParallelPlan,
  type PhaseName,
  parallelPlan,
  phaseConfig,
  phaseObjective,
  phaseTrainsExplainer,
  resolveTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
} from './config.js';
import { forEachBatch } from './data/batches.js';
import type { DecodeCache } from './data/cache.js';
import { type ImageSetData, loadSplit } from './data/load.js';
import { classWeightsOf } from './data/weights.js';
import { diagnoseMap, type MapProblem, MapStatsAccumulator, mapWarning } from './diagnostics.js';
import type { TrainEvent, TrainResult } from './events.js';
import { type InitSource, prepareTrainConfig, resolveInitSource } from './init-from.js';
import { PhaseOptimizer } from './optimizers.js';
import { phaseBehaviour } from './phases.js';
import { createRun } from './record.js';
import { type BestSoFar, handOn, planResume, type ResumePlan, startPlan } from './resume.js';
import { emptyTotals, evaluate, means, parallelTrainStep, type StepContext, trainStep } from './step.js';
import { summarise } from './summary.js';

export interface TrainOptions {
  /** The engine already started with initEngine: recorded with the run. */
  engine: Pick<EngineInfo, 'name' | 'device'>;
  /** Cancels the run after the current step (status 'cancelled', checkpoints kept). */
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
  /** Decoded-image cache shared with other loads in this process. */
  cache?: DecodeCache;
}

export class TrainingCancelled extends Error {
  constructor() {
    super('training was cancelled');
    this.name = 'TrainingCancelled';
  }
}

/** Trains a new run. Resolves when it is done or cancelled; a failure marks the run failed and rejects. */
export async function train(
  store: Store,
  input: TrainConfigInput,
  options: TrainOptions,
): Promise<TrainResult> {
  const { config } = prepareTrainConfig(store, input);
  return execute(store, config, startPlan(), null, options);
}

/**
 * Continues a failed or cancelled run as a new run (see resume.ts). A run still marked 'running' is refused
 * unless `force` (its process may still be alive); with force it is first marked failed.
 */
export async function resumeRun(
  store: Store,
  runId: number,
  options: TrainOptions & { force?: boolean },
): Promise<TrainResult> {
  const old = store.runs.get(runId);
  if (old === undefined) throw new Error(`no run ${runId} in ${store.path}`);
  if (old.status === 'done') throw new Error(`run ${runId} is done; there is nothing to resume`);
  if (old.status === 'running' || old.status === 'queued') {
    if (!options.force) {
      throw new Error(
        `run ${runId} is still marked ${old.status}; if its process is gone (killed, crashed), resume with force ` +
          '(xwb train --resume RUN --force), which marks it failed first',
      );
    }
    store.runs.setStatus(runId, 'failed', `interrupted (found ${old.status} when resumed)`);
  }
  let config: TrainConfig;
  try {
    config = resolveTrainConfig({ ...(old.config as unknown as TrainConfigInput), resumedFrom: runId });
  } catch (e) {
    throw new Error(`run ${runId} cannot be resumed: its stored config is invalid: ${(e as Error).message}`);
  }
  const plan = planResume(config, store.runs.epochs(runId), store.runs.checkpoints(runId));
  return execute(store, config, plan, old, options);
}

/**
 * Trains a run recorded before it started (a run queued for the team's workers, see record.ts) in that same run:
 * the first attempt from the start, a later one (its worker was killed) from the run's own latest checkpoint, as
 * resume.ts plans it. What an earlier attempt recorded after that checkpoint is removed first and run again, so
 * each (phase, epoch) is in the run once. A queued resume (config.resumedFrom) first takes over the history of the
 * run it continues, as resumeRun does.
 */
export async function continueRun(store: Store, runId: number, options: TrainOptions): Promise<TrainResult> {
  const run = store.runs.get(runId);
  if (run === undefined) throw new Error(`no run ${runId} in ${store.path}`);
  if (run.status !== 'queued' && run.status !== 'running') {
    throw new Error(`run ${runId} is ${run.status}: only a queued or running run can go on training`);
  }
  let config: TrainConfig;
  try {
    config = resolveTrainConfig(run.config as unknown as TrainConfigInput);
  } catch (e) {
    throw new Error(`run ${runId} cannot be trained: its stored config is invalid: ${(e as Error).message}`);
  }
  if (config.resumedFrom !== null && store.runs.checkpoints(runId).length === 0) {
    const from = config.resumedFrom;
    const old = planResume(config, store.runs.epochs(from), store.runs.checkpoints(from));
    store.runs.dropEpochs(runId, store.runs.epochs(runId));
    copyHistory(store, run, old);
  }
  const epochs = store.runs.epochs(runId);
  const plan = planResume(config, epochs, store.runs.checkpoints(runId));
  const kept = new Set(plan.epochs.map((e) => `${e.phase}/${e.epoch}`));
  const stale = epochs.filter((e) => !kept.has(`${e.phase}/${e.epoch}`));
  if (stale.length > 0) store.runs.dropEpochs(runId, stale);
  return execute(store, config, plan, null, options, run);
}

/**
 * Copies the history a resume keeps into the new run: the checkpoint folders first, then every row in one
 * transaction, so a process killed part-way leaves the run with all of it or none (a folder copied twice is
 * replaced).
 */
function copyHistory(store: Store, run: Run, plan: ResumePlan): Map<number, Checkpoint> {
  const paths = plan.checkpoints.map((c) =>
    copyCheckpointFolder(c.path, run.folder!, c.phase as PhaseName, c.epoch),
  );
  const copied = new Map<number, Checkpoint>();
  store.transaction(() => {
    for (const e of plan.epochs) {
      store.runs.appendEpoch(run.id, {
        phase: e.phase,
        epoch: e.epoch,
        metrics: e.metrics,
        seconds: e.seconds,
      });
    }
    for (const [i, c] of plan.checkpoints.entries()) {
      copied.set(
        c.id,
        store.runs.addCheckpoint({
          runId: run.id,
          phase: c.phase,
          epoch: c.epoch,
          path: paths[i],
          valLoss: c.valLoss,
          isBest: c.isBest,
        }),
      );
    }
  });
  return copied;
}

/** The mean of every pixel value of a split: what maskFill 'auto' resolves to. */
export function meanPixel(data: ImageSetData): number {
  let sum = 0;
  let count = 0;
  for (const item of data.items) {
    for (let i = 0; i < item.pixels.length; i++) sum += item.pixels[i];
    count += item.pixels.length;
  }
  return count === 0 ? 0.5 : sum / count;
}

/** The source checkpoint's model, checked against what this run expects (a manifest may have been edited). */
async function loadInitial(source: InitSource, config: TrainConfig, classes: number): Promise<XwbModel> {
  const model = await loadCheckpoint(source.checkpoint);
  const m = config.model;
  if (model.kind !== m.kind || model.inputSize !== m.inputSize || model.classes !== classes) {
    const got = `${model.kind}, ${model.inputSize} px, ${model.classes} classes`;
    model.dispose();
    throw new Error(
      `run ${source.run.id}: checkpoint ${source.checkpoint.path} holds a ${got} model; this run needs ` +
        `${m.kind}, ${m.inputSize} px, ${classes} classes`,
    );
  }
  return model;
}

function buildModel(config: TrainConfig, train: ImageSetData): XwbModel {
  const o = modelOptions(config, train.classes.length, meanPixel(train));
  if (config.model.kind === 'expclass') return buildExpClass(o);
  if (config.model.kind === 'xcnn') return buildXcnn(o);
  return buildClassifier(o);
}

async function loadData(store: Store, config: TrainConfig, options: TrainOptions) {
  const load = (split: 'train' | 'val') =>
    loadSplit(store, config.datasetId, split, {
      size: config.model.inputSize,
      resize: config.data.resize,
      maskSource: config.data.maskSource,
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (done, total) => options.onEvent?.({ type: 'load', split, done, total }),
      onSkip: (s) => options.onEvent?.({ type: 'skipped', split, relPath: s.relPath, message: s.message }),
    });
  const train = await load('train');
  const val = await load('val');
  const ds = `dataset "${train.datasetName}"`;
  if (train.items.length === 0) throw new Error(`${ds} has no training images; assign a train split first`);
  if (val.items.length === 0) {
    throw new Error(
      `${ds} has no validation images; the best checkpoint is chosen by validation loss, so re-import it with a validation share`,
    );
  }
  if (train.classes.length < 2)
    throw new Error(`${ds} has ${train.classes.length} class(es); training needs at least 2`);
  return { train, val };
}

interface PhaseOutcome {
  cancelled: boolean;
}

interface Session {
  store: Store;
  run: Run;
  config: TrainConfig;
  options: TrainOptions;
  train: ImageSetData;
  val: ImageSetData;
  classWeights?: number[];
  /** Set when steps go through replicas or micro-batches (see usesParallel); null: plain single-engine steps. */
  parallel: ParallelTrainer | null;
}

/**
 * Steps go through ParallelTrainer when they have more than one engine to use or a batch larger than one pass
 * may take; otherwise the plain step, which native engines (one engine, no memory wall) and small runs use.
 */
export function usesParallel(plan: ParallelPlan, batchSize: number): boolean {
  return plan.replicas > 1 || plan.microBatch < batchSize;
}

/**
 * An explainer-phase epoch counts as dead when its validation accuracy is back at the majority rate (within
 * CHANCE_MARGIN) although the classifier phase had reached LOST_ACCURACY above it.
 */
export const LOST_ACCURACY = 0.25;
export const CHANCE_MARGIN = 0.05;

/** Whether `acc` is back at the majority rate `chance` after the classifier phase reached `reached`. */
export function accuracyLost(reached: number, acc: number, chance: number): boolean {
  return reached - chance >= LOST_ACCURACY && acc <= chance + CHANCE_MARGIN;
}

/** The share of the most frequent label (the accuracy of always answering it); unlabelled (-1) images left out. */
export function majorityShare(labels: readonly number[]): number {
  const counts = new Map<number, number>();
  let n = 0;
  for (const l of labels) {
    if (l < 0) continue;
    counts.set(l, (counts.get(l) ?? 0) + 1);
    n++;
  }
  return n === 0 ? 1 : Math.max(...counts.values()) / n;
}

/** The best validation accuracy of this run's classifier phase, or null when it had none (e.g. fine-tuning). */
export function classifierPhaseAccuracy(
  epochs: readonly { phase: string; metrics: Record<string, number> }[],
) {
  const accs = epochs
    .filter((e) => e.phase === 'classifier' && Number.isFinite(e.metrics.val_acc))
    .map((e) => e.metrics.val_acc);
  return accs.length === 0 ? null : Math.max(...accs);
}

async function runPhase(
  s: Session,
  model: XwbModel,
  phase: PhaseName,
  startEpoch: number,
  bestSoFar: BestSoFar | null,
): Promise<PhaseOutcome> {
  const { store, run, config, options } = s;
  const pc = phaseConfig(config, phase);
  const behaviour = phaseBehaviour(model, phase, config.frozenStatistics);
  const ctx: StepContext = {
    model,
    behaviour,
    objective: phaseObjective(config, phase),
    ...(s.classWeights ? { classWeights: s.classWeights } : {}),
  };
  const optimizer = new PhaseOptimizer(pc, behaviour.variables(model));
  const steps = Math.ceil(s.train.items.length / config.data.batchSize);
  // The map is only worth measuring where the explainer trains (the classifier phase runs on a white map).
  const diagnosed = phaseTrainsExplainer(phase) && model.kind !== 'classifier';
  const threshold = config.deadExplainer.threshold;
  // What the classifier phase of this run reached: the explainer phase must not throw it away. Measured on the
  // star set at base 16: validation accuracy 100 % → 50 % in the explainer phase's first epoch while the map's
  // mean (0.01) stayed above the dead threshold; the joint phase then started from that model and stayed at 50 %.
  const reached = phase === 'explainer' ? classifierPhaseAccuracy(store.runs.epochs(run.id)) : null;
  const chance = majorityShare(s.val.items.map((i) => i.label));
  let lostReported = false;
  let previous: MapProblem | null = null;
  let best = bestSoFar;
  try {
    for (let epoch = startEpoch; epoch <= pc.epochs; epoch++) {
      if (options.signal?.aborted) return { cancelled: true };
      const t0 = performance.now();
      const totals = emptyTotals();
      await forEachBatch(
        s.train,
        {
          batchSize: config.data.batchSize,
          shuffle: true,
          seed: `${config.seed}/${phase}`,
          epoch,
          flip: config.data.flip,
        },
        async (batch, step) => {
          if (s.parallel) await parallelTrainStep(ctx, s.parallel, optimizer, batch, totals);
          else trainStep(ctx, optimizer, batch, totals);
          options.onEvent?.({ type: 'step', phase, epoch, step: step + 1, steps });
          // Let messages in (a worker's cancel arrives as one) between steps.
          await nextTick();
          if (options.signal?.aborted) throw new TrainingCancelled();
        },
      );
      const trainSeconds = (performance.now() - t0) / 1000;
      const maps = diagnosed ? new MapStatsAccumulator(model.inputSize * model.inputSize) : null;
      const onMaps = maps ? (m: tf.Tensor4D) => maps.add(m.dataSync(), m.shape[0]) : undefined;
      const val = means(await evaluate(ctx, s.val, config.data.batchSize, onMaps));
      const tr = means(totals);
      const seconds = (performance.now() - t0) / 1000;
      // Only a fall to the majority rate counts: at base 8 the explainer phase wobbles (0.90 → 0.65 → 0.84) and
      // recovers by itself.
      const lost = reached !== null && behaviour.watchesExplainer && accuracyLost(reached, val.acc, chance);
      // Reported, not acted on: stopping the phase there changed the CI localisation run (its explainer phase fell
      // to 0.5 for an epoch and recovered by itself).
      const dead = behaviour.watchesExplainer && val.explanation < config.deadExplainer.threshold;
      const stats = maps ? { ...maps.result(), mean: val.explanation } : null;
      const problem = stats
        ? diagnoseMap(stats, { deadThreshold: behaviour.watchesExplainer ? threshold : null })
        : null;
      const improved = !dead && Number.isFinite(val.loss) && (best === null || val.loss < best.valLoss);
      if (improved) best = { epoch, valLoss: val.loss };
      const sinceBest = epoch - (best?.epoch ?? startEpoch - 1);
      const diverged = !Number.isFinite(tr.loss);
      const earlyStop = config.patience > 0 && sinceBest >= config.patience && epoch < pc.epochs;
      const end = epoch === pc.epochs || earlyStop || (dead && config.deadExplainer.stopPhase) || diverged;
      const metrics = {
        loss: tr.loss,
        ce: tr.ce,
        l1: tr.l1,
        tv: tr.tv,
        hybrid: tr.hybrid,
        block: tr.block,
        acc: tr.acc,
        expl_mean: tr.explanation,
        val_loss: val.loss,
        val_ce: val.ce,
        val_acc: val.acc,
        val_expl_mean: val.explanation,
        val_map_std: stats?.withinStd ?? Number.NaN,
        val_map_across_std: stats?.acrossStd ?? Number.NaN,
        train_seconds: trainSeconds,
        images_per_s: s.train.items.length / trainSeconds,
        is_best: improved ? 1 : 0,
        dead_explainer: dead ? 1 : 0,
        map_flat: problem === 'flat' ? 1 : 0,
        map_saturated: problem === 'saturated' ? 1 : 0,
        phase_end: end ? 1 : 0,
        early_stop: earlyStop ? 1 : 0,
      };
      store.runs.appendEpoch(run.id, { phase, epoch, metrics, seconds });
      const keep = improved || end || (config.checkpointEvery > 0 && epoch % config.checkpointEvery === 0);
      const checkpoint = keep
        ? await saveCheckpoint(store, run.id, run.folder!, model, {
            phase,
            epoch,
            valLoss: val.loss,
            isBest: improved,
          })
        : null;
      options.onEvent?.({
        type: 'epoch',
        phase,
        epoch,
        epochs: pc.epochs,
        metrics,
        seconds,
        isBest: improved,
        checkpoint: checkpoint?.path ?? null,
      });
      // Reported when it appears or changes, not again every epoch it lasts (the epoch rows keep the flags).
      if (stats && problem !== null && problem !== previous) {
        const warning = mapWarning(problem, phase, epoch, stats, threshold, config.model.explainerHead);
        options.onEvent?.({ type: 'warning', phase, epoch, ...warning });
      }
      previous = problem;
      if (lost && !lostReported) {
        lostReported = true;
        options.onEvent?.({
          type: 'warning',
          phase,
          epoch,
          code: 'lost',
          message:
            `phase ${phase}, epoch ${epoch}: the map hides what the classifier needs (validation accuracy ` +
            `${(val.acc * 100).toFixed(0)} % against ${(reached! * 100).toFixed(0)} % after the classifier phase)`,
          advice:
            'If it does not recover in the next epochs, train again with a lower explainer learning rate (--lr), a ' +
            'lower sparsity weight (--l1), or without this phase (--epochs N,0,M).',
        });
      }
      if (diverged) {
        throw new Error(
          `phase ${phase}, epoch ${epoch}: the training loss is ${tr.loss} (diverged); lower the learning rate (now ${pc.lr})`,
        );
      }
      if (end) break;
    }
    return { cancelled: false };
  } catch (e) {
    if (e instanceof TrainingCancelled) return { cancelled: true };
    throw e;
  } finally {
    optimizer.dispose();
  }
}

async function execute(
  store: Store,
  resolved: TrainConfig,
  resume: ResumePlan,
  resumedRun: Run | null,
  options: TrainOptions,
  /** The run to train in, recorded before (continueRun); else a new run is created. */
  recorded?: Run,
): Promise<TrainResult> {
  const started = performance.now();
  let config = resolved;
  const dataset = store.datasets.getById(config.datasetId);
  if (dataset === undefined) throw new Error(`no dataset with id ${config.datasetId} in ${store.path}`);
  // 'auto' becomes numbers before the run is recorded: the stored config says what the run really used.
  const spread = parallelPlan(config, options.engine.name);
  config = { ...config, data: { ...config.data, ...spread } };
  // Checked before the run is recorded, so a bad source leaves no failed run behind. Resolved again for a
  // resume: the source may have gone since (it is only needed when no checkpoint of this run is left).
  let source: InitSource | null = null;
  const initial = async (data: ImageSetData) => {
    if (config.initFrom === null) return buildModel(config, data);
    source ??= resolveInitSource(store, config);
    return loadInitial(source, config, data.classes.length);
  };
  if (config.initFrom !== null && resumedRun === null && recorded === undefined) {
    source = resolveInitSource(store, config);
  }
  const run = recorded
    ? store.runs.assignEngine(recorded.id, {
        engine: options.engine.name,
        device: options.engine.device,
        config: configToJson(config),
      })
    : createRun(store, config, options.engine);
  const phases = activePhases(config);
  options.onEvent?.({
    type: 'start',
    runId: run.id,
    datasetId: config.datasetId,
    model: config.model.kind,
    engine: options.engine.name,
    device: options.engine.device,
    folder: run.folder!,
    resumedFrom: resumedRun?.id ?? null,
    initFrom: source && initFromView(source),
    phases: phases.map((phase) => ({ phase, epochs: phaseConfig(config, phase).epochs })),
  });
  let model: XwbModel | null = null;
  let parallel: ParallelTrainer | null = null;
  let sizes = { train: 0, val: 0 };
  let skipWarnings: string[] = [];
  const finish = (status: 'done' | 'cancelled'): TrainResult => {
    const { phases: summaries, warnings: epochWarnings } = summarise(config, store.runs.epochs(run.id));
    const warnings = [...skipWarnings, ...epochWarnings];
    const result: TrainResult = {
      runId: run.id,
      status,
      datasetId: config.datasetId,
      model: config.model.kind,
      engine: options.engine.name,
      device: options.engine.device,
      folder: run.folder!,
      resumedFrom: resumedRun?.id ?? null,
      config,
      classes: [...dataset.classes],
      checkpoint: handOn(phases, phases.length - 1, store.runs.checkpoints(run.id))?.path ?? null,
      trainImages: sizes.train,
      valImages: sizes.val,
      phases: summaries,
      warnings,
      seconds: (performance.now() - started) / 1000,
    };
    writeFileAtomic(path.join(run.folder!, SUMMARY_FILE), `${JSON.stringify(result, null, 2)}\n`);
    store.runs.setStatus(run.id, status);
    options.onEvent?.({ type: 'done', result });
    return result;
  };
  try {
    // A recorded run's checkpoints are its own already (the plan was made from them).
    const copied = recorded
      ? new Map(resume.checkpoints.map((c) => [c.id, c]))
      : copyHistory(store, run, resume);
    let data: { train: ImageSetData; val: ImageSetData };
    try {
      data = await loadData(store, config, options);
    } catch (e) {
      // Cancelled while loading: a cancel, not a failure.
      if (options.signal?.aborted) return finish('cancelled');
      throw e;
    }
    const { train, val } = data;
    sizes = { train: train.items.length, val: val.items.length };
    skipWarnings = [...train.skipped, ...val.skipped].map((s) => `left out (cannot be read): ${s.message}`);
    const session: Session = {
      store,
      run,
      config,
      options,
      train,
      val,
      ...(config.loss.classWeights ? { classWeights: classWeightsOf(train) } : {}),
      parallel: null,
    };
    if (store.runs.get(run.id)!.status !== 'running') store.runs.setStatus(run.id, 'running');
    // Listeners showing the run's status (the workbench's runs table) learn of the move here, not at 'start'.
    options.onEvent?.({ type: 'status', runId: run.id, status: 'running' });
    let cancelled = options.signal?.aborted ?? false;
    for (let i = resume.phaseIndex; i < phases.length && !cancelled; i++) {
      const phase = phases[i];
      const first = i === resume.phaseIndex;
      const from = first
        ? resume.startFrom && (copied.get(resume.startFrom.id) ?? null)
        : handOn(phases, i - 1, store.runs.checkpoints(run.id));
      model?.dispose();
      model = null;
      model = from ? await loadCheckpoint(from) : await initial(train);
      if (usesParallel(spread, config.data.batchSize)) {
        session.parallel = await parallelFor(session.parallel, model, options.engine.name, spread);
        parallel = session.parallel;
      }
      const startEpoch = first ? resume.startEpoch : 1;
      const epochs = phaseConfig(config, phase).epochs;
      options.onEvent?.({ type: 'phase', phase, index: i, count: phases.length, epochs, startEpoch });
      cancelled = (await runPhase(session, model, phase, startEpoch, first ? resume.best : null)).cancelled;
    }
    return finish(cancelled ? 'cancelled' : 'done');
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const now = store.runs.get(run.id);
    if (now && (now.status === 'queued' || now.status === 'running'))
      store.runs.setStatus(run.id, 'failed', err.message);
    throw err;
  } finally {
    // Closing ends the worker threads: a cancelled or failed run leaves none behind to keep the process alive.
    await parallel?.close();
    model?.dispose();
  }
}

function initFromView(source: InitSource) {
  const c = source.checkpoint;
  return { runId: source.run.id, phase: c.phase, epoch: c.epoch, path: c.path };
}

/** The phase's ParallelTrainer: the run's one, with `model` as its master, or a new one when the spec differs. */
async function parallelFor(
  current: ParallelTrainer | null,
  model: XwbModel,
  engine: EngineInfo['name'],
  spread: ParallelPlan,
): Promise<ParallelTrainer> {
  // Workers build their replica from the spec; reuse them (starting one takes seconds) when it is unchanged.
  if (current && JSON.stringify(current.model.spec) === JSON.stringify(model.spec)) {
    current.useModel(model);
    return current;
  }
  await current?.close();
  return ParallelTrainer.create({ model, engine, replicas: spread.replicas, microBatch: spread.microBatch });
}
