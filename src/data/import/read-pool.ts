/**
 * Spreads the per-file work of an import (read-worker.ts) over reader threads and this one. Each image's outcome
 * depends only on its files, so any split of the list over threads gives the same outcomes; they are returned in
 * the list's order, whichever thread read them.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { mapLimit } from '../../util/pool.js';
import { spawnModuleWorker } from '../../util/worker.js';
import { READS_IN_FLIGHT, type ReadJob, type ReadOutcome, readImageFiles } from './read.js';
import type { ReaderData, ReadReply, ReadRequest } from './read-worker.js';

/**
 * Images per slice handed to a thread: a slice of small PNGs blocks this thread's event loop for about 10 ms,
 * and a message per slice costs nothing next to reading it.
 */
const SLICE = 64;
/**
 * Below this many images per thread a reader thread's start-up (about 0.1 s compiled, 0.3 s or more through tsx,
 * mostly loading sharp and the XML reader) costs more than it saves; imports of a few hundred files stay here.
 */
const MIN_IMAGES_PER_THREAD = 500;
/** Slices a reader thread holds at once, so it never waits for this thread to hand out its next one. */
const SLICES_IN_FLIGHT = 2;

export interface ReadAllOptions {
  maxPixels?: number;
  /** Reader threads beside this one: a number (0: read here only), or 'auto'. Default 0: see `readerThreads`. */
  workers?: number | 'auto';
  /** Called as images are read, once per slice. */
  onProgress?: (done: number) => void;
  /** Starts one reader thread (default: read-worker.ts). Tests pass threads that fail. */
  spawnReader?: (data: ReaderData) => Worker;
}

function spawnReadWorker(data: ReaderData): Worker {
  return spawnModuleWorker(new URL('./read-worker.js', import.meta.url), data, import.meta.url);
}

export interface ReadAllResult {
  /** One per job, in the jobs' order. */
  outcomes: ReadOutcome[];
  /** Reader threads started. */
  workers: number;
  /** Reader threads that failed (their slices were then read here), each with its error. */
  threadFailures: string[];
}

/**
 * Reader threads for `images` images. 'auto': one per core beyond this thread's, but at most one per
 * MIN_IMAGES_PER_THREAD images (so small imports stay on this thread). The default is none: on the 2-core machine
 * this was measured on (docs/benchmarks.md, issue 13), a reader thread made no import faster (10,000 × 48 px:
 * 1.30–1.37 s with one, 1.34–1.36 s without, compiled; 3,000 × 224 px: 0.84–0.91 s against 0.77–0.78 s) and cost
 * 0.4–0.7 CPU s more (its start, its own JIT warm-up, and both threads running slower side by side).
 */
export function readerThreads(images: number, asked: number | 'auto' | undefined): number {
  if (asked === undefined) return 0;
  if (asked !== 'auto') {
    if (!Number.isInteger(asked) || asked < 0)
      throw new Error(`workers must be a whole number >= 0, got ${asked}`);
    return Math.min(asked, Math.ceil(images / SLICE));
  }
  return Math.max(0, Math.min(availableParallelism(), Math.floor(images / MIN_IMAGES_PER_THREAD)) - 1);
}

/**
 * Reads every job, in slices of SLICE handed out in order to whichever thread is free: the reader threads and
 * this one (which yields to the event loop between its slices, so the threads' replies and progress keep
 * flowing). A reader thread that fails (it cannot start, or it dies) loses nothing: the slices it held are read
 * here, and the failure is named in `threadFailures`.
 */
export async function readAllImages(
  root: string,
  jobs: readonly ReadJob[],
  opts: ReadAllOptions = {},
): Promise<ReadAllResult> {
  const outcomes = new Array<ReadOutcome>(jobs.length);
  const threadFailures: string[] = [];
  let next = 0;
  /** Slices a failed reader thread held, read here first. */
  const orphans: number[] = [];
  const take = (): number | undefined => {
    if (orphans.length > 0) return orphans.shift();
    if (next >= jobs.length) return undefined;
    const from = next;
    next += SLICE;
    return from;
  };
  const sliceAt = (from: number) => jobs.slice(from, Math.min(jobs.length, from + SLICE));
  let done = 0;
  const store = (from: number, got: readonly ReadOutcome[]) => {
    got.forEach((o, k) => {
      outcomes[from + k] = o;
    });
    done += got.length;
    opts.onProgress?.(done);
  };

  const data: ReaderData = {
    root,
    ...(opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {}),
  };
  const workers: Worker[] = [];
  const finished: Promise<void>[] = [];
  const spawn = opts.spawnReader ?? spawnReadWorker;
  for (let t = 0; t < readerThreads(jobs.length, opts.workers); t++) {
    let worker: Worker;
    try {
      worker = spawn(data);
    } catch (e) {
      threadFailures.push(`reader thread could not start: ${(e as Error).message}`);
      continue;
    }
    workers.push(worker);
    finished.push(
      new Promise<void>((resolve) => {
        const held = new Set<number>();
        /** Set once this thread is done with (its work read, or its failure handled): later events are ignored. */
        let over = false;
        const send = () => {
          const from = take();
          if (from === undefined) {
            if (held.size === 0) {
              over = true;
              resolve();
            }
            return;
          }
          held.add(from);
          const request: ReadRequest = { from, jobs: sliceAt(from) };
          worker.postMessage(request);
        };
        const fail = (why: string) => {
          if (over) return;
          over = true;
          threadFailures.push(why);
          orphans.push(...[...held].sort((a, b) => a - b));
          held.clear();
          resolve();
        };
        worker.on('message', (reply: ReadReply) => {
          if (over) return;
          held.delete(reply.from);
          store(reply.from, reply.outcomes);
          send();
        });
        worker.on('error', (e) => fail(`reader thread failed: ${e.message}`));
        worker.on('exit', (code) => fail(`reader thread ended (exit code ${code})`));
        for (let k = 0; k < SLICES_IN_FLIGHT; k++) send();
      }),
    );
  }
  const readHere = async () => {
    for (let from = take(); from !== undefined; from = take()) {
      store(
        from,
        await mapLimit(sliceAt(from), READS_IN_FLIGHT, (job) => readImageFiles(root, job, opts.maxPixels)),
      );
      await nextTurn();
    }
  };
  try {
    await readHere();
    await Promise.all(finished);
    await readHere(); // what a failed reader thread left
  } finally {
    // A thread that finished its work is `over`: its 'exit' from terminate() is ignored.
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { outcomes, workers: workers.length, threadFailures };
}
