/** Training runs, their per-epoch metrics and their checkpoints. */
import { nonEmptyText, nonNegativeInt, positiveInt, type StoreContext } from './context.js';
import {
  fromJson,
  type JsonObject,
  type Metrics,
  metricsFromJson,
  metricsToJson,
  toJsonObject,
} from './json.js';

export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/**
 * Allowed moves. 'running' → 'queued' is not one: a run that stopped is failed or cancelled, and a retry is a new
 * run (its folder and epochs would otherwise mix two attempts). 'queued' → 'failed' covers a run that could not
 * start.
 */
const TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['done', 'failed', 'cancelled'],
  done: [],
  failed: [],
  cancelled: [],
};
const TERMINAL: readonly RunStatus[] = ['done', 'failed', 'cancelled'];

export interface RunInput {
  datasetId: number;
  model: string;
  config: JsonObject;
  engine: string;
  device?: string | null;
  folder?: string | null;
}

export interface Run {
  id: number;
  datasetId: number;
  model: string;
  config: JsonObject;
  engine: string;
  device: string | null;
  status: RunStatus;
  error: string | null;
  folder: string | null;
  phase: string | null;
  epoch: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A run as recorded in another store (an export): its state and timestamps are kept as they were. */
export interface RunRestoreInput extends RunInput {
  status: RunStatus;
  error?: string | null;
  phase?: string | null;
  epoch?: number | null;
  createdAt: string;
  startedAt?: string | null;
  finishedAt?: string | null;
}

export interface EpochInput {
  phase: string;
  epoch: number;
  /** Loss parts, acc, val_acc, mean activation …; NaN and ±Infinity are kept. */
  metrics: Metrics;
  seconds?: number | null;
}

export interface EpochRecord extends Required<EpochInput> {
  runId: number;
  createdAt: string;
}

export interface CheckpointInput {
  runId: number;
  phase: string;
  epoch: number;
  path: string;
  /** NaN is stored as null. */
  valLoss?: number | null;
  /** The best of its run and phase so far; the previous best of that phase is demoted. */
  isBest?: boolean;
}

export interface Checkpoint {
  id: number;
  runId: number;
  phase: string;
  epoch: number;
  path: string;
  valLoss: number | null;
  isBest: boolean;
  createdAt: string;
}

interface RunRow {
  id: number;
  dataset_id: number;
  model: string;
  config: string;
  engine: string;
  device: string | null;
  status: RunStatus;
  error: string | null;
  folder: string | null;
  phase: string | null;
  epoch: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface EpochRow {
  run_id: number;
  phase: string;
  epoch: number;
  metrics: string;
  seconds: number | null;
  created_at: string;
}

interface CheckpointRow {
  id: number;
  run_id: number;
  phase: string;
  epoch: number;
  path: string;
  val_loss: number | null;
  is_best: number;
  created_at: string;
}

function toRun(r: RunRow): Run {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    model: r.model,
    config: fromJson<JsonObject>(r.config),
    engine: r.engine,
    device: r.device,
    status: r.status,
    error: r.error,
    folder: r.folder,
    phase: r.phase,
    epoch: r.epoch,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

function toEpoch(r: EpochRow): EpochRecord {
  return {
    runId: r.run_id,
    phase: r.phase,
    epoch: r.epoch,
    metrics: metricsFromJson(r.metrics),
    seconds: r.seconds,
    createdAt: r.created_at,
  };
}

function toCheckpoint(r: CheckpointRow): Checkpoint {
  return {
    id: r.id,
    runId: r.run_id,
    phase: r.phase,
    epoch: r.epoch,
    path: r.path,
    valLoss: r.val_loss,
    isBest: r.is_best === 1,
    createdAt: r.created_at,
  };
}

export interface RunsApi {
  create(input: RunInput): Run;
  /**
   * Inserts a run record exactly as given (status and timestamps included), for restoring an export. Its epochs,
   * checkpoints and model files are not part of it.
   */
  restore(input: RunRestoreInput): Run;
  get(id: number): Run | undefined;
  /** Newest first. */
  list(filter?: { datasetId?: number; status?: RunStatus }): Run[];
  /**
   * Moves a run along queued → running → done | failed | cancelled; an illegal move is an error. Sets startedAt on
   * 'running' and finishedAt on the end states.
   */
  setStatus(id: number, status: RunStatus, error?: string | null): Run;
  /**
   * Says which engine trains a run that is not over yet, with the config resolved for it: a run queued for the
   * team's workers is recorded before any worker (and so any engine) is chosen, and the worker that takes it fills
   * these in. Refused once the run has ended.
   */
  assignEngine(id: number, input: { engine: string; device: string | null; config: JsonObject }): Run;
  /** Records the epoch (replacing it if it was recorded before, e.g. after a resume) and the run's progress. */
  appendEpoch(runId: number, epoch: EpochInput): EpochRecord;
  /**
   * Removes epoch rows of a run that is not over yet, in one transaction: what an attempt killed after its last
   * checkpoint recorded, which the next attempt runs again. The run's phase/epoch become its last kept row's.
   */
  dropEpochs(runId: number, epochs: readonly { phase: string; epoch: number }[]): void;
  epochs(runId: number): EpochRecord[];
  addCheckpoint(input: CheckpointInput): Checkpoint;
  checkpoints(runId: number): Checkpoint[];
  bestCheckpoint(runId: number, phase: string): Checkpoint | undefined;
}

export function runsApi(ctx: StoreContext): RunsApi {
  const get = (id: number) => {
    const r = ctx.get<RunRow>('SELECT * FROM runs WHERE id = ?', id);
    return r && toRun(r);
  };
  const mustGet = (id: number, where: string) => {
    const r = get(positiveInt(id, `${where}: run id`));
    if (r === undefined) throw new Error(`${where}: no run with id ${id} in ${ctx.file}`);
    return r;
  };
  const getCheckpoint = (id: number) =>
    toCheckpoint(ctx.get<CheckpointRow>('SELECT * FROM checkpoints WHERE id = ?', id)!);

  return {
    create(input) {
      const where = `run of model "${input.model}"`;
      nonEmptyText(input.model, `${where}: model`);
      nonEmptyText(input.engine, `${where}: engine`);
      const config = toJsonObject(input.config, `${where}: config`);
      return ctx.tx(() => {
        positiveInt(input.datasetId, `${where}: datasetId`);
        if (ctx.get('SELECT 1 FROM datasets WHERE id = ?', input.datasetId) === undefined) {
          throw new Error(`${where}: no dataset with id ${input.datasetId} in ${ctx.file}`);
        }
        const id = ctx.insert(
          `INSERT INTO runs (dataset_id, model, config, engine, device, folder, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)`,
          input.datasetId,
          input.model,
          config,
          input.engine,
          input.device ?? null,
          input.folder ?? null,
          ctx.now(),
        );
        return get(id)!;
      });
    },
    restore(input) {
      const where = `restored run of model "${input.model}"`;
      nonEmptyText(input.model, `${where}: model`);
      nonEmptyText(input.engine, `${where}: engine`);
      const config = toJsonObject(input.config, `${where}: config`);
      if (!Object.hasOwn(TRANSITIONS, input.status)) {
        throw new Error(`${where}: status must be one of ${Object.keys(TRANSITIONS).join(', ')}`);
      }
      if (input.epoch !== undefined && input.epoch !== null) nonNegativeInt(input.epoch, `${where}: epoch`);
      nonEmptyText(input.createdAt, `${where}: createdAt`);
      return ctx.tx(() => {
        positiveInt(input.datasetId, `${where}: datasetId`);
        if (ctx.get('SELECT 1 FROM datasets WHERE id = ?', input.datasetId) === undefined) {
          throw new Error(`${where}: no dataset with id ${input.datasetId} in ${ctx.file}`);
        }
        const id = ctx.insert(
          `INSERT INTO runs (dataset_id, model, config, engine, device, status, error, folder, phase, epoch,
             created_at, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          input.datasetId,
          input.model,
          config,
          input.engine,
          input.device ?? null,
          input.status,
          input.error ?? null,
          input.folder ?? null,
          input.phase ?? null,
          input.epoch ?? null,
          input.createdAt,
          input.startedAt ?? null,
          input.finishedAt ?? null,
        );
        return get(id)!;
      });
    },
    get,
    list(filter = {}) {
      const clauses: string[] = [];
      const params: (string | number)[] = [];
      if (filter.datasetId !== undefined) {
        clauses.push('dataset_id = ?');
        params.push(filter.datasetId);
      }
      if (filter.status !== undefined) {
        clauses.push('status = ?');
        params.push(filter.status);
      }
      const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
      return ctx
        .all<RunRow>(`SELECT * FROM runs ${where} ORDER BY created_at DESC, id DESC`, ...params)
        .map(toRun);
    },
    setStatus(id, status, error = null) {
      return ctx.tx(() => {
        const run = mustGet(id, 'runs.setStatus');
        if (!TRANSITIONS[run.status].includes(status)) {
          throw new Error(`run ${id}: cannot go from "${run.status}" to "${status}"`);
        }
        const now = ctx.now();
        ctx.run(
          `UPDATE runs SET status = ?, error = ?, started_at = coalesce(started_at, ?), finished_at = ?
           WHERE id = ?`,
          status,
          error,
          status === 'running' ? now : null,
          TERMINAL.includes(status) ? now : null,
          id,
        );
        return get(id)!;
      });
    },
    assignEngine(id, input) {
      const where = `run ${id}: engine`;
      nonEmptyText(input.engine, where);
      const config = toJsonObject(input.config, `run ${id}: config`);
      return ctx.tx(() => {
        const run = mustGet(id, 'runs.assignEngine');
        if (TERMINAL.includes(run.status)) {
          throw new Error(`run ${id} is ${run.status}: its engine is what it ran on and stays`);
        }
        ctx.run(
          'UPDATE runs SET engine = ?, device = ?, config = ? WHERE id = ?',
          input.engine,
          input.device,
          config,
          id,
        );
        return get(id)!;
      });
    },
    dropEpochs(runId, epochs) {
      ctx.tx(() => {
        const run = mustGet(runId, 'runs.dropEpochs');
        if (TERMINAL.includes(run.status)) {
          throw new Error(`run ${runId} is ${run.status}: its epochs are its history and stay`);
        }
        for (const e of epochs) {
          ctx.run(
            'DELETE FROM run_epochs WHERE run_id = ? AND phase = ? AND epoch = ?',
            runId,
            e.phase,
            e.epoch,
          );
        }
        const last = ctx.get<{ phase: string; epoch: number }>(
          'SELECT phase, epoch FROM run_epochs WHERE run_id = ? ORDER BY rowid DESC LIMIT 1',
          runId,
        );
        ctx.run(
          'UPDATE runs SET phase = ?, epoch = ? WHERE id = ?',
          last?.phase ?? null,
          last?.epoch ?? null,
          runId,
        );
      });
    },
    appendEpoch(runId, e) {
      const where = `run ${runId}: epoch ${e.epoch}`;
      nonEmptyText(e.phase, `${where}: phase`);
      nonNegativeInt(e.epoch, `${where}: epoch`);
      const metrics = metricsToJson(e.metrics, `${where}: metrics`);
      if (e.seconds !== undefined && e.seconds !== null && !(e.seconds >= 0)) {
        throw new Error(`${where}: seconds must be >= 0, got ${e.seconds}`);
      }
      return ctx.tx(() => {
        mustGet(runId, 'runs.appendEpoch');
        ctx.run(
          `INSERT INTO run_epochs (run_id, phase, epoch, metrics, seconds, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, phase, epoch) DO UPDATE SET metrics = excluded.metrics, seconds = excluded.seconds,
             created_at = excluded.created_at`,
          runId,
          e.phase,
          e.epoch,
          metrics,
          e.seconds ?? null,
          ctx.now(),
        );
        ctx.run('UPDATE runs SET phase = ?, epoch = ? WHERE id = ?', e.phase, e.epoch, runId);
        return toEpoch(
          ctx.get<EpochRow>(
            'SELECT * FROM run_epochs WHERE run_id = ? AND phase = ? AND epoch = ?',
            runId,
            e.phase,
            e.epoch,
          )!,
        );
      });
    },
    epochs(runId) {
      // rowid order is the order epochs were first recorded, which is the phase order.
      return ctx
        .all<EpochRow>('SELECT * FROM run_epochs WHERE run_id = ? ORDER BY rowid', runId)
        .map(toEpoch);
    },
    addCheckpoint(input) {
      const where = `run ${input.runId}: checkpoint`;
      nonEmptyText(input.phase, `${where}: phase`);
      nonNegativeInt(input.epoch, `${where}: epoch`);
      nonEmptyText(input.path, `${where}: path`);
      const valLoss = input.valLoss ?? null;
      if (valLoss !== null && typeof valLoss !== 'number')
        throw new Error(`${where}: valLoss must be a number`);
      return ctx.tx(() => {
        mustGet(input.runId, 'runs.addCheckpoint');
        if (input.isBest) {
          ctx.run(
            'UPDATE checkpoints SET is_best = 0 WHERE run_id = ? AND phase = ?',
            input.runId,
            input.phase,
          );
        }
        const id = ctx.insert(
          `INSERT INTO checkpoints (run_id, phase, epoch, path, val_loss, is_best, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          input.runId,
          input.phase,
          input.epoch,
          input.path,
          valLoss,
          input.isBest ? 1 : 0,
          ctx.now(),
        );
        return getCheckpoint(id);
      });
    },
    checkpoints(runId) {
      return ctx
        .all<CheckpointRow>('SELECT * FROM checkpoints WHERE run_id = ? ORDER BY id', runId)
        .map(toCheckpoint);
    },
    bestCheckpoint(runId, phase) {
      const r = ctx.get<CheckpointRow>(
        'SELECT * FROM checkpoints WHERE run_id = ? AND phase = ? AND is_best = 1',
        runId,
        phase,
      );
      return r && toCheckpoint(r);
    },
  };
}
