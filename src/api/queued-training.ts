/**
 * Training in team mode (`xwb serve --queue`): `train.start` / `train.resume` record the run here ('queued', engine
 * "worker") and enqueue a 'train' job for the team's workers (src/jobs/tasks/train.ts), which train in that run
 * and write its epochs and status to the store. This side reads them back (the store is the truth, whichever
 * process wrote it) and tells the renderer the same events a local training sends: run.status, train.epoch for
 * every new epoch row, train.progress from the job's stage, train.finished. `train.cancel` cancels the job.
 */
import type { JobQueue, JobState } from '../jobs/queue.js';
import type { Run } from '../store/index.js';
import type { TrainConfigInput } from '../training/config.js';
import { parseTrainStage, TRAIN_JOB_KIND, type TrainJobParams } from '../training/queued.js';
import { ApiError, type EpochView } from './contract.js';
import type { XwbService } from './service.js';

type EngineName = NonNullable<TrainJobParams['engine']>;

interface Watched {
  jobId: number;
  status: string;
  /** `${phase}/${epoch}@${createdAt}` of each epoch row told: a row run again after a resume is told again. */
  epochs: Set<string>;
  stage: string | null;
}

const ACTIVE = ['queued', 'running'];

export class QueuedTrainings {
  private readonly watched = new Map<number, Watched>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly service: XwbService,
    private readonly queue: JobQueue,
    /** How often the runs are read for new epochs and status (ms). */
    watchMs = 500,
  ) {
    // Trainings a previous server queued are still the workers': watch them from where they are.
    for (const j of queue.list(200)) {
      if (j.kind === TRAIN_JOB_KIND && ACTIVE.includes(j.status)) this.track(j, false);
    }
    queue.events.on('job', (j) => {
      if (j.kind !== TRAIN_JOB_KIND) return;
      if (!this.watched.has(runOf(j))) this.track(j, true);
      this.refresh(runOf(j), j);
    });
    this.timer = setInterval(() => {
      for (const runId of [...this.watched.keys()]) this.refresh(runId);
    }, watchMs);
    this.timer.unref();
  }

  /** Records the run, enqueues its job and starts telling its events. */
  async start(input: TrainConfigInput, engine?: EngineName): Promise<{ runId: number }> {
    const { recordQueuedRun } = await import('../training/record.js');
    return this.enqueue(recordQueuedRun(this.service.store, input), engine, 'train');
  }

  /** A failed or cancelled run continued as a new run that names it (as `xwb train --resume`), on a worker. */
  async resume(old: Run, engine?: EngineName): Promise<{ runId: number }> {
    const { recordQueuedResume } = await import('../training/record.js');
    let run: Run;
    try {
      run = recordQueuedResume(this.service.store, old);
    } catch (e) {
      throw new ApiError(`run ${old.id} could not be resumed: ${(e as Error).message}`, 400, 'runId');
    }
    return this.enqueue(run, engine, `resume run ${old.id} as`);
  }

  /** Cancels the run's job; false when the run has no active job here. */
  async cancel(runId: number): Promise<boolean> {
    const w = this.watched.get(runId);
    return w ? this.queue.cancel(w.jobId) : false;
  }

  /** Whether a job of this server still trains the run. */
  has(runId: number): boolean {
    return this.watched.has(runId);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async enqueue(run: Run, engine: EngineName | undefined, verb: string): Promise<{ runId: number }> {
    const { store } = this.service;
    const params: TrainJobParams = { runId: run.id, ...(engine ? { engine } : {}) };
    const ds = store.datasets.getById(run.datasetId);
    const label = `${verb} run ${run.id}: ${run.model} on ${ds?.name ?? `dataset ${run.datasetId}`}`;
    let job: JobState;
    try {
      job = await this.queue.start(TRAIN_JOB_KIND, { ...params }, label);
    } catch (e) {
      // The queue ended its row already (and with it the run); a refusal before the row existed did not.
      const now = store.runs.get(run.id);
      if (now?.status === 'queued') store.runs.setStatus(run.id, 'failed', (e as Error).message);
      throw new ApiError(`training could not be queued: ${(e as Error).message}`, 503);
    }
    this.track(job, true);
    return { runId: run.id };
  }

  private track(job: JobState, announce: boolean): void {
    const runId = runOf(job);
    if (runId <= 0 || this.watched.has(runId)) return;
    const run = this.service.store.runs.get(runId);
    if (!run) return;
    // Epochs already there (a server restarted mid-run) are not news; the screen reads them with the run.
    const epochs = new Set(
      this.service.store.runs.epochs(runId).map((e) => `${e.phase}/${e.epoch}@${e.createdAt}`),
    );
    this.watched.set(runId, { jobId: job.id, status: run.status, epochs, stage: null });
    if (announce) this.service.emit({ type: 'train.started', runId });
  }

  /** Reads the run (and its job) and tells what changed since the last look. */
  private refresh(runId: number, known?: JobState): void {
    const w = this.watched.get(runId);
    if (!w) return;
    const { store } = this.service;
    const run = store.runs.get(runId);
    if (!run) {
      this.watched.delete(runId);
      return;
    }
    const epochs = store.runs.epochs(runId);
    for (const e of epochs) {
      const key = `${e.phase}/${e.epoch}@${e.createdAt}`;
      if (w.epochs.has(key)) continue;
      w.epochs.add(key);
      const epoch: EpochView = {
        phase: e.phase,
        epoch: e.epoch,
        metrics: Object.fromEntries(
          Object.entries(e.metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : null]),
        ),
        seconds: e.seconds ?? 0,
      };
      this.service.emit({ type: 'train.epoch', runId, epoch });
    }
    const job = known ?? this.queue.get(w.jobId);
    const stage = job?.status === 'running' ? (job.progress?.stage ?? null) : null;
    const at = parseTrainStage(stage);
    // The worker stores its stage at most once per progress interval (1 s by default): the step shown lags by that.
    if (at && stage !== w.stage) {
      this.service.emit({ type: 'train.progress', runId, ...at, etaSeconds: job?.etaSeconds ?? null });
    }
    w.stage = stage;
    if (run.status !== w.status) {
      w.status = run.status;
      if (ACTIVE.includes(run.status)) this.service.emit({ type: 'run.status', runId, status: run.status });
    }
    const jobOver = job !== undefined && !ACTIVE.includes(job.status);
    if (!ACTIVE.includes(run.status) && (jobOver || job === undefined)) {
      this.watched.delete(runId);
      this.service.emit({ type: 'train.finished', runId, status: run.status, error: run.error });
    }
  }
}

function runOf(job: Pick<JobState, 'params'>): number {
  const id = job.params.runId;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : 0;
}
