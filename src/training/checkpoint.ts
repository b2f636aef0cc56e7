/**
 * Where a run keeps its files, and checkpoints:
 *
 *   <folder of the store file>/runs/<run id>/
 *     checkpoints/<phase>-<epoch, 4 digits>/   a saveModel folder (written to a temp sibling, then renamed)
 *     summary.json                            what the run ended with (written atomically)
 *
 * A checkpoint is recorded in the store only after its folder is complete, with its absolute path, its validation
 * loss and whether it is the best of its phase. Which epochs get one: every phase's best so far, every phase's
 * last epoch, and every `checkpointEvery`-th epoch; all recorded checkpoints are kept (at the papers' base width a
 * checkpoint is about 8 MB, so keeping every epoch would cost ~1 GB for a 110-epoch run).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadModel, saveModel, type XwbModel } from '../models/index.js';
import { type Checkpoint, type Store, storeFilesDir } from '../store/index.js';
import { siblingTempDir } from '../util/atomic.js';
import type { PhaseName } from './config.js';

export const RUNS_DIR = 'runs';
export const CHECKPOINTS_DIR = 'checkpoints';
export const SUMMARY_FILE = 'summary.json';

/** `<the store's files folder>/runs`: next to a SQLite file; $XWB_FILES for a PostgreSQL store. */
export function runsRoot(storePath: string): string {
  return path.join(storeFilesDir(storePath), RUNS_DIR);
}

export function checkpointName(phase: PhaseName, epoch: number): string {
  return `${phase}-${String(epoch).padStart(4, '0')}`;
}

export interface SavedCheckpoint {
  phase: PhaseName;
  epoch: number;
  valLoss: number;
  isBest: boolean;
}

/** Saves the model as a checkpoint of the run and records it. Replaces a folder left by an earlier attempt. */
export async function saveCheckpoint(
  store: Store,
  runId: number,
  folder: string,
  model: XwbModel,
  c: SavedCheckpoint,
): Promise<Checkpoint> {
  const dir = path.join(folder, CHECKPOINTS_DIR, checkpointName(c.phase, c.epoch));
  try {
    await saveModel(model, dir, { overwrite: true });
  } catch (e) {
    throw checkpointError(runId, dir, c, e);
  }
  return store.runs.addCheckpoint({
    runId,
    phase: c.phase,
    epoch: c.epoch,
    path: dir,
    valLoss: Number.isFinite(c.valLoss) ? c.valLoss : null,
    isBest: c.isBest,
  });
}

/**
 * The writer's own message (tfjs, fs) names no path, or a temporary one: say which checkpoint could not be written,
 * that the ones before it stay valid (saveModel leaves nothing half-written), and how to go on.
 */
function checkpointError(runId: number, dir: string, c: SavedCheckpoint, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const cause = e instanceof Error ? e.message : String(e);
  const what = `run ${runId}: cannot write the checkpoint of ${c.phase} epoch ${c.epoch} to ${dir}`;
  if (code === 'ENOSPC' || code === 'EDQUOT' || /ENOSPC|no space left/i.test(cause)) {
    return new Error(
      `${what}: no space left on the disk. The run's earlier checkpoints are kept and valid; free some space, ` +
        `then continue with xwb train --resume ${runId}. (${cause})`,
    );
  }
  return new Error(`${what}: ${cause}`);
}

export async function loadCheckpoint(
  checkpoint: Pick<Checkpoint, 'path' | 'runId' | 'phase' | 'epoch'>,
): Promise<XwbModel> {
  if (!fs.existsSync(checkpoint.path)) {
    throw new Error(
      `run ${checkpoint.runId}: checkpoint ${checkpoint.phase} epoch ${checkpoint.epoch} is missing from ` +
        `${checkpoint.path} (was the run folder moved or deleted?)`,
    );
  }
  return loadModel(checkpoint.path);
}

/** Copies a checkpoint folder into another run's folder (for resume), atomically; returns the new path. */
export function copyCheckpointFolder(
  source: string,
  folder: string,
  phase: PhaseName,
  epoch: number,
): string {
  const target = path.join(folder, CHECKPOINTS_DIR, checkpointName(phase, epoch));
  if (!fs.existsSync(source)) throw new Error(`cannot copy checkpoint ${source}: it does not exist`);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = siblingTempDir(target);
  try {
    fs.cpSync(source, tmp, { recursive: true });
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return target;
}

/**
 * The folder for a new run. Normally `runs/<id>`; if a folder of that name is left over (from a run whose row
 * was deleted, so the id came round again), it is not touched and the run gets `runs/<id>-<n>` instead.
 */
export function freshRunFolder(storePath: string, runId: number): string {
  const root = runsRoot(storePath);
  let candidate = path.join(root, String(runId));
  for (let n = 2; fs.existsSync(candidate); n++) candidate = path.join(root, `${runId}-${n}`);
  return candidate;
}
