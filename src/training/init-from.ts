/**
 * Fine-tuning: a run that starts from another run's weights (`initFrom`), e.g. an L1 sweep over one trained
 * classifier (`--init-from 1 --phases explainer,joint --l1 X`), Rieger's block-diagonal penalty applied to a
 * trained network, or a clinician's marks refining an explainer without retraining the classifier.
 *
 * Rules:
 * - The model is the source's: every field of `model` the caller leaves out is taken from the source run's
 *   stored config, and a field given with another value is refused, naming both (weights of one topology do not
 *   load into another, and an initial value such as explainerBias would silently mean nothing).
 * - The dataset may differ from the source's only if its classes are the same names in the same order: the
 *   logits' columns are the source's classes, so any other dataset would relabel them.
 * - The source must have stopped (done, failed or cancelled): a running run's best checkpoint may still change.
 * - The stored config keeps `initFrom` and the inherited model, so it resolves to itself and a resume of the
 *   fine-tuned run (which starts from the source again when it has no checkpoint of its own) sees the same.
 */
import type { Checkpoint, Run, Store } from '../store/index.js';
import {
  activePhases,
  ConfigError,
  type InitFrom,
  MODEL_FIELDS,
  type ModelConfig,
  type PhaseName,
  resolveTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
} from './config.js';
import { handOn } from './resume.js';

export interface InitSource {
  run: Run;
  config: TrainConfig;
  checkpoint: Checkpoint;
}

/** The resolved config of run `runId`, for inheriting from it; errors name the run and the store. */
export function sourceRunConfig(store: Store, runId: number): { run: Run; config: TrainConfig } {
  const run = store.runs.get(runId);
  if (run === undefined)
    throw new ConfigError(`training config: initFrom.run: no run ${runId} in ${store.path}`);
  try {
    return { run, config: resolveTrainConfig(run.config as unknown as TrainConfigInput) };
  } catch (e) {
    throw new ConfigError(
      `training config: initFrom.run: run ${runId}'s stored config is not valid: ${(e as Error).message}`,
    );
  }
}

/** `input` with its model section completed from the source's; a conflicting field is an error naming both. */
export function inheritModel(
  input: TrainConfigInput,
  sourceId: number,
  source: ModelConfig,
): TrainConfigInput {
  const given = (input.model ?? {}) as Partial<Record<keyof ModelConfig, unknown>>;
  const model: Record<string, unknown> = { ...given };
  for (const k of MODEL_FIELDS) {
    const want = source[k];
    if (given[k] === undefined) model[k] = want;
    else if (given[k] !== want) {
      throw new ConfigError(
        `training config: model.${k} is ${JSON.stringify(given[k])}, but run ${sourceId} (initFrom) was trained ` +
          `with ${JSON.stringify(want)}; a run started from its weights keeps its model (leave model.${k} out to ` +
          'take it)',
      );
    }
  }
  return { ...input, model: model as TrainConfigInput['model'] };
}

/** The source checkpoint `initFrom` names, or null when the run has none. */
export function pickCheckpoint(
  config: TrainConfig,
  which: InitFrom['checkpoint'],
  checkpoints: readonly Checkpoint[],
): Checkpoint | null {
  const phases = activePhases(config);
  if (which === 'best') return handOn(phases, phases.length - 1, checkpoints);
  const rank = (c: Checkpoint) => phases.indexOf(c.phase as PhaseName);
  let latest: Checkpoint | null = null;
  for (const c of checkpoints) {
    if (rank(c) < 0) continue;
    if (latest === null || rank(c) > rank(latest) || (rank(c) === rank(latest) && c.epoch > latest.epoch))
      latest = c;
  }
  return latest;
}

/**
 * Checks a resolved config's `initFrom` against the store (source stopped, model equal, classes equal, a
 * checkpoint to start from) and returns the source. Errors are ConfigErrors naming the run and the values.
 */
export function resolveInitSource(store: Store, config: TrainConfig): InitSource {
  const init = config.initFrom;
  if (init === null) throw new Error('internal: resolveInitSource on a config without initFrom');
  const { run, config: source } = sourceRunConfig(store, init.run);
  const where = `training config: initFrom.run: run ${run.id}`;
  if (run.status === 'queued' || run.status === 'running') {
    throw new ConfigError(`${where} is still ${run.status}; start from a run that has stopped`);
  }
  for (const k of MODEL_FIELDS) {
    if (config.model[k] !== source.model[k]) {
      throw new ConfigError(
        `${where} was trained with model.${k} ${JSON.stringify(source.model[k])}, this run has ` +
          `${JSON.stringify(config.model[k])}; a run started from its weights keeps its model`,
      );
    }
  }
  const from = store.datasets.getById(source.datasetId);
  const to = store.datasets.getById(config.datasetId);
  if (from === undefined)
    throw new ConfigError(`${where}: its dataset ${source.datasetId} is no longer in the store`);
  if (to === undefined)
    throw new ConfigError(`training config: no dataset with id ${config.datasetId} in ${store.path}`);
  const same = from.classes.length === to.classes.length && from.classes.every((c, i) => to.classes[i] === c);
  if (!same) {
    throw new ConfigError(
      `${where} was trained on dataset "${from.name}" with classes [${from.classes.join(', ')}], but dataset ` +
        `"${to.name}" has [${to.classes.join(', ')}]; its weights only carry over to the same classes in the same order`,
    );
  }
  const checkpoint = pickCheckpoint(source, init.checkpoint, store.runs.checkpoints(run.id));
  if (checkpoint === null) {
    throw new ConfigError(`${where} has no checkpoint to start from (status ${run.status})`);
  }
  return { run, config: source, checkpoint };
}

/**
 * Validates a caller's config against the store: without initFrom, resolveTrainConfig alone; with it, the model
 * inherited from the source run, then resolved and checked (see resolveInitSource).
 */
export function prepareTrainConfig(
  store: Store,
  input: TrainConfigInput,
): { config: TrainConfig; source: InitSource | null } {
  const raw = input.initFrom as { run?: unknown } | null | undefined;
  if (raw === undefined || raw === null) return { config: resolveTrainConfig(input), source: null };
  const runId = raw.run;
  if (typeof runId !== 'number' || !Number.isInteger(runId) || runId < 1) {
    throw new ConfigError(`training config: initFrom.run must be a run id, got ${JSON.stringify(runId)}`);
  }
  const { config: source } = sourceRunConfig(store, runId);
  const config = resolveTrainConfig(inheritModel(input, runId, source.model));
  return { config, source: resolveInitSource(store, config) };
}
