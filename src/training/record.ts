/**
 * A run's row and folder, created together: by the trainer when it starts a run itself, or by the server ahead of
 * time when the run is queued for the team's workers (the worker that takes it then trains in that row, see
 * continueRun in trainer.ts).
 */
import type { EngineInfo } from '../engine/types.js';
import type { Run, Store } from '../store/index.js';
import { freshRunFolder } from './checkpoint.js';
import { configToJson, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { prepareTrainConfig } from './init-from.js';
import { QUEUED_ENGINE } from './queued.js';

export function createRun(
  store: Store,
  config: TrainConfig,
  engine: Pick<EngineInfo, 'name' | 'device'> | { name: string; device: string | null },
): Run {
  // The folder is named after the run id, which SQLite assigns; predict it inside the transaction and check.
  return store.transaction(() => {
    const next = store.runs.list().reduce((max, r) => Math.max(max, r.id), 0) + 1;
    const folder = freshRunFolder(store.path, next);
    const run = store.runs.create({
      datasetId: config.datasetId,
      model: config.model.kind,
      config: configToJson(config),
      engine: engine.name,
      device: engine.device,
      folder,
    });
    if (run.id !== next)
      throw new Error(`internal: run id ${run.id}, expected ${next}; the folder would not match`);
    return run;
  });
}

/**
 * Records a run 'queued' for whichever worker takes its job; its engine reads QUEUED_ENGINE until then. The config
 * is checked against the store here (a bad one is refused before anything is queued).
 */
export function recordQueuedRun(store: Store, input: TrainConfigInput): Run {
  const { config } = prepareTrainConfig(store, input);
  return createRun(store, config, { name: QUEUED_ENGINE, device: null });
}

/**
 * Records the continuation of a failed or cancelled run as a new queued run that names it (config.resumedFrom);
 * the worker copies the old run's history into it before training (continueRun).
 */
export function recordQueuedResume(store: Store, old: Run): Run {
  if (old.status !== 'failed' && old.status !== 'cancelled') {
    throw new Error(`run ${old.id} is ${old.status}; only a failed or cancelled run can be resumed`);
  }
  let config: TrainConfig;
  try {
    config = resolveTrainConfig({ ...(old.config as unknown as TrainConfigInput), resumedFrom: old.id });
  } catch (e) {
    throw new Error(`its stored config is invalid: ${(e as Error).message}`);
  }
  return createRun(store, config, { name: QUEUED_ENGINE, device: null });
}
