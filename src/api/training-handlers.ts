import { DEMO_NAME, demoTrainConfig } from '../data/demo.js';
import type { EngineName } from '../engine/types.js';
import type { JobQueue } from '../jobs/queue.js';
import type { ModelKind } from '../models/index.js';
import { startTraining, type TrainingHandle } from '../training/background.js';
import {
  FAITHFUL_MODEL,
  KIND_PHASES,
  onlyPhases,
  type PhaseName,
  selectPhases,
  type TrainConfigInput,
} from '../training/config.js';
import type { MaskSource } from '../training/data/masks.js';
import type { TrainEvent } from '../training/events.js';
import { prepareTrainConfig, sourceRunConfig } from '../training/init-from.js';
import { ApiError, type TrainRequest } from './contract.js';
import { QueuedTrainings } from './queued-training.js';
import type { XwbService } from './service.js';

/** The form's mask source; the contract lists exactly the trainer's sources (less 'none', which γ = 0 means). */
function maskSourceOf(req: TrainRequest): { maskSource?: MaskSource } {
  return req.maskSource === undefined ? {} : { maskSource: req.maskSource };
}

/**
 * The contract's training form → the trainer's config (validated again there, with field names). `inherited` is
 * the kind of the initFrom run: the default kind, and then the model fields left out are the source's.
 */
export function trainConfigFromRequest(req: TrainRequest, inherited?: ModelKind): TrainConfigInput {
  const kind = req.model ?? inherited ?? 'expclass';
  const phases: NonNullable<TrainConfigInput['phases']> = {};
  const order: PhaseName[] = ['classifier', 'explainer', 'joint'];
  for (const p of KIND_PHASES[kind]) {
    const i = order.indexOf(p);
    phases[p] = {
      epochs: req.epochs[i],
      alpha: req.alpha[i],
      optimizer: req.optimizer,
      ...(req.lr ? { lr: req.lr[i] } : {}),
    };
  }
  const fine = req.initFrom !== undefined;
  // The form's defaults apply to a fresh model only; a fine-tuned one takes what is missing from its source.
  const model: NonNullable<TrainConfigInput['model']> = {
    ...(req.model !== undefined || !fine ? { kind } : {}),
    ...(req.size !== undefined || !fine ? { inputSize: req.size ?? 64 } : {}),
    ...(req.base !== undefined || !fine ? { base: req.base ?? 32 } : {}),
    ...(req.batchNorm !== undefined || !fine ? { batchNorm: req.batchNorm ?? true } : {}),
    ...(req.faithful
      ? { ...FAITHFUL_MODEL, ...(req.batchNorm !== undefined ? { batchNorm: req.batchNorm } : {}) }
      : {}),
  };
  return {
    datasetId: req.datasetId,
    model,
    phases: req.phases === undefined ? phases : onlyPhases(kind, selectPhases(kind, req.phases), phases),
    loss: { beta: req.beta, gamma: req.gamma, l1: req.l1 ? { weight: req.l1, convention: 'mean' } : null },
    // Only with γ > 0: without the hybrid term the masks would be loaded and never used.
    data: { batchSize: req.batchSize, ...(req.gamma > 0 ? maskSourceOf(req) : {}) },
    seed: req.seed,
    ...(req.initFrom ? { initFrom: { run: req.initFrom.runId, checkpoint: req.initFrom.checkpoint } } : {}),
  };
}

/** The form checked against the store (initFrom's source included); a bad field is a 400 naming it. */
function configOf(service: XwbService, req: TrainRequest): TrainConfigInput {
  try {
    const inherited = req.initFrom && sourceRunConfig(service.store, req.initFrom.runId).config.model.kind;
    const input = trainConfigFromRequest(req, inherited);
    prepareTrainConfig(service.store, input); // fail here, next to the form, rather than in the worker
    return input;
  } catch (e) {
    const message = (e as Error).message;
    const field = /initFrom/.test(message) ? 'initFrom' : /phases/.test(message) ? 'phases' : undefined;
    throw new ApiError(message, 400, field);
  }
}

/**
 * `train.start` / `train.cancel`: training runs in a worker thread (src/training/background.ts) so the server or
 * the Electron main process never blocks; its events are relayed to the renderer as contract events. With a team
 * queue (`queue`, xwb serve --queue) runs are queued for the workers instead (queued-training.ts), with the same
 * events.
 */
export function registerTrainingHandlers(service: XwbService, queue?: JobQueue): void {
  const running = new Map<number, TrainingHandle>();
  // Team mode: runs go to the workers through the queue (queued-training.ts); the desktop trains here as always.
  const queued = queue && new QueuedTrainings(service, queue);
  if (queued) service.onClose(() => queued.close());

  /** Relays a training worker's events to the renderer as contract events, until it ends. */
  const relay = (runId: number, handle: TrainingHandle): void => {
    running.set(runId, handle);
    service.emit({ type: 'train.started', runId });
    let phaseEpochs = 0;
    let phaseStart = Date.now();
    let firstStep: number | null = null;
    handle.events.on('event', (e: TrainEvent) => {
      if (e.type === 'phase') {
        phaseEpochs = e.epochs;
        phaseStart = Date.now();
        firstStep = null;
      } else if (e.type === 'step') {
        // Steps counted across the phase's epochs; the rate since the phase began gives the ETA.
        const index = (e.epoch - 1) * e.steps + e.step;
        firstStep ??= index - 1;
        const done = index - firstStep;
        const remaining = phaseEpochs * e.steps - index;
        const elapsed = (Date.now() - phaseStart) / 1000;
        service.emit({
          type: 'train.progress',
          runId,
          phase: e.phase,
          epoch: e.epoch,
          epochs: phaseEpochs,
          step: e.step,
          steps: e.steps,
          etaSeconds: done > 0 ? (elapsed / done) * remaining : null,
        });
      } else if (e.type === 'status') {
        service.emit({ type: 'run.status', runId, status: e.status });
      } else if (e.type === 'warning') {
        const { phase, epoch, code, message, advice } = e;
        service.emit({ type: 'train.warning', runId, phase, epoch, code, message, advice });
      } else if (e.type === 'epoch') {
        const metrics: Record<string, number | string | null> = {};
        for (const [k, v] of Object.entries(e.metrics)) metrics[k] = Number.isFinite(v) ? v : null;
        service.emit({
          type: 'train.epoch',
          runId,
          epoch: { phase: e.phase, epoch: e.epoch, metrics, seconds: e.seconds },
        });
      }
    });
    handle.result.then(
      (r) => service.emit({ type: 'train.finished', runId, status: r.status, error: null }),
      (e: Error) => service.emit({ type: 'train.finished', runId, status: 'failed', error: e.message }),
    );
    handle.result.finally(() => running.delete(runId)).catch(() => {});
  };

  /** Starts a run in a worker and relays its events; resolves with its id once it exists. */
  const launch = async (input: TrainConfigInput, engine?: EngineName): Promise<{ runId: number }> => {
    if (queued) return queued.start(input, engine);
    const handle = startTraining(service.store.path, input, engine ? { engine } : {});
    const runId = await handle.runId.catch((e: Error) => {
      throw new ApiError(`training could not start: ${e.message}`, 500);
    });
    relay(runId, handle);
    return { runId };
  };

  service.register('train.start', async (req) => {
    if (!service.store.datasets.getById(req.datasetId)) {
      throw new ApiError(`no dataset ${req.datasetId}`, 404, 'datasetId');
    }
    return launch(configOf(service, req), req.engine);
  });

  // First start: the demo model, once per store (a second call, or a reload, finds the run already there).
  let demoStarting: Promise<{ runId: number | null; started: boolean }> | null = null;
  service.register('datasets.demoTrain', async () => {
    demoStarting ??= (async () => {
      const demo = service.store.datasets.list().find((d) => d.name === DEMO_NAME);
      if (!demo) return { runId: null, started: false };
      const runs = service.store.runs.list({ datasetId: demo.id });
      if (runs.length > 0) return { runId: runs[0].id, started: false };
      const { runId } = await launch(demoTrainConfig(demo.id));
      return { runId, started: true };
    })().finally(() => {
      demoStarting = null;
    });
    return demoStarting;
  });

  // Shutting the transport down stops running trainings cleanly (they end 'cancelled', checkpoints kept).
  service.onClose(async () => {
    const handles = [...running.values()];
    for (const h of handles) h.cancel();
    await Promise.allSettled(handles.map((h) => h.result));
  });

  // A failed or cancelled run continues from its last checkpoint as a new run that names it (`xwb train --resume`).
  service.register('train.resume', async (req) => {
    const run = service.store.runs.get(req.runId);
    if (!run) throw new ApiError(`no run ${req.runId}`, 404, 'runId');
    if (run.status !== 'failed' && run.status !== 'cancelled') {
      throw new ApiError(
        `run ${run.id} is ${run.status}; only a failed or cancelled run can be resumed`,
        409,
        'runId',
      );
    }
    // Cancelled but its worker still saving the last checkpoint.
    if (running.has(run.id)) throw new ApiError(`run ${run.id} is still stopping; try again`, 409, 'runId');
    if (queued) return queued.resume(run, req.engine);
    const handle = startTraining(service.store.path, null, {
      resume: run.id,
      ...(req.engine ? { engine: req.engine } : {}),
    });
    const runId = await handle.runId.catch((e: Error) => {
      throw new ApiError(`run ${run.id} could not be resumed: ${e.message}`, 500);
    });
    relay(runId, handle);
    return { runId };
  });

  service.register('train.cancel', async (req) => {
    if (queued) return { cancelled: await queued.cancel(req.runId) };
    const handle = running.get(req.runId);
    if (!handle) return { cancelled: false };
    handle.cancel();
    return { cancelled: true };
  });
}
