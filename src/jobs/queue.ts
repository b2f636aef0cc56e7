/**
 * Where the workbench's long jobs run, behind one small interface. The desktop (and `xwb serve` without a queue)
 * runs them in its own worker threads, exactly as the JobRunner always did (LocalJobQueue wraps it); team mode
 * enqueues them on PostgreSQL through pg-boss for `xwb worker` processes on any host (pgboss/server.ts). Both keep
 * status, progress and result in the store's jobs table, which is what the UI reads, and both tell every change as
 * a `job` event.
 */
import type { EventEmitter } from 'node:events';
import type { JsonObject } from '../store/index.js';
import { JobRunner, type JobRunnerOptions, type JobState } from './runner.js';

export type { JobState } from './runner.js';

export interface JobQueue {
  readonly events: EventEmitter<{ job: [JobState] }>;
  /** Where jobs run, in words for logs and the UI ("this process", "workers on postgres://host/db"). */
  readonly where: string;
  /** Records the job (status 'queued') and hands it to whoever runs jobs; answers the stored job. */
  start(kind: string, params: JsonObject, label: string): Promise<JobState>;
  /** Asks a queued or running job to stop; false when it is not (or no longer) active. */
  cancel(id: number): Promise<boolean>;
  get(id: number): JobState | undefined;
  /** Newest first. */
  list(limit?: number): JobState[];
  /** Resolves when the job has ended (at once when it is not active). */
  wait(id: number): Promise<JobState | undefined>;
  /** Stops watching; the local queue also cancels what it runs (team workers keep theirs). */
  close(): Promise<void>;
}

/** Today's behaviour: one job at a time in a worker thread of this process (see runner.ts). */
export class LocalJobQueue implements JobQueue {
  readonly where = 'this process';
  readonly runner: JobRunner;

  constructor(opts: JobRunnerOptions) {
    this.runner = new JobRunner(opts);
  }

  get events(): EventEmitter<{ job: [JobState] }> {
    return this.runner.events;
  }

  async start(kind: string, params: JsonObject, label: string): Promise<JobState> {
    return this.runner.start(kind, params, label);
  }

  async cancel(id: number): Promise<boolean> {
    return this.runner.cancel(id);
  }

  get(id: number): JobState | undefined {
    return this.runner.get(id);
  }

  list(limit?: number): JobState[] {
    return this.runner.list(limit);
  }

  wait(id: number): Promise<JobState | undefined> {
    return this.runner.wait(id);
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}
