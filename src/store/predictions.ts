/**
 * A run's prediction per image: the predicted class, its probability, and whether it matches the image's label.
 * Written by the batch explain and evaluation jobs and by the viewer when it predicts one image; read by the
 * gallery's filters and sorts (gallery.ts). Predictions are derived data: a run's or an image's deletion takes
 * them along.
 */
import { nonEmptyText, positiveInt, type StoreContext } from './context.js';

export interface PredictionInput {
  runId: number;
  imageId: number;
  classIndex: number;
  /** Probability of `classIndex`, 0..1. */
  probability: number;
  /** Probability of the image's labelled class; null when the image has no label among the run's classes. */
  trueProbability: number | null;
  /** null exactly when trueProbability is null. */
  correct: boolean | null;
  /** The model file the prediction came from. */
  checkpoint: string;
}

export interface PredictionRecord extends PredictionInput {
  createdAt: string;
}

interface Row {
  run_id: number;
  image_id: number;
  class_index: number;
  probability: number;
  true_probability: number | null;
  correct: number | null;
  checkpoint: string;
  created_at: string;
}

export function toPrediction(r: Row): PredictionRecord {
  return {
    runId: r.run_id,
    imageId: r.image_id,
    classIndex: r.class_index,
    probability: r.probability,
    trueProbability: r.true_probability,
    correct: r.correct === null ? null : r.correct === 1,
    checkpoint: r.checkpoint,
    createdAt: r.created_at,
  };
}

function unitInterval(v: number, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw new Error(`${where}: expected a probability in [0, 1], got ${v}`);
  }
  return v;
}

function validate(p: PredictionInput): PredictionInput {
  const where = `prediction of run ${p.runId} for image ${p.imageId}`;
  positiveInt(p.runId, `${where}: runId`);
  positiveInt(p.imageId, `${where}: imageId`);
  if (!Number.isInteger(p.classIndex) || p.classIndex < 0) {
    throw new Error(`${where}: classIndex must be an integer >= 0, got ${p.classIndex}`);
  }
  unitInterval(p.probability, `${where}: probability`);
  if (p.trueProbability !== null) unitInterval(p.trueProbability, `${where}: trueProbability`);
  if ((p.correct === null) !== (p.trueProbability === null)) {
    throw new Error(`${where}: correct and trueProbability must both be null (no label) or both be set`);
  }
  nonEmptyText(p.checkpoint, `${where}: checkpoint`);
  return p;
}

export interface PredictionsApi {
  /** Inserts or replaces each (run, image) prediction, all in one transaction. */
  putMany(inputs: readonly PredictionInput[]): void;
  get(runId: number, imageId: number): PredictionRecord | undefined;
  /** The images of `imageIds` whose stored prediction came from `checkpoint` (the rest need predicting). */
  current(runId: number, checkpoint: string, imageIds: readonly number[]): Set<number>;
  /** How many images of the run have a stored prediction. */
  count(runId: number): number;
}

export function predictionsApi(ctx: StoreContext): PredictionsApi {
  return {
    putMany(inputs) {
      const valid = inputs.map(validate);
      if (valid.length === 0) return;
      const now = ctx.now();
      ctx.tx(() => {
        for (const p of valid) {
          // The gallery reads a run's predictions as its dataset's images without joining them: hold it true here.
          const same = ctx.get<{ image: number; run: number }>(
            `SELECT i.dataset_id AS image, r.dataset_id AS run FROM images i, runs r WHERE i.id = ? AND r.id = ?`,
            p.imageId,
            p.runId,
          );
          if (same === undefined) {
            throw new Error(
              `prediction of run ${p.runId} for image ${p.imageId}: no such run or image in ${ctx.file}`,
            );
          }
          if (same.image !== same.run) {
            throw new Error(
              `prediction of run ${p.runId} for image ${p.imageId}: the image is in dataset ${same.image}, ` +
                `the run was trained on dataset ${same.run}`,
            );
          }
          // Portable upsert (SQLite ≥ 3.24 and PostgreSQL share this form).
          ctx.run(
            `INSERT INTO predictions (run_id, image_id, class_index, probability, true_probability, correct,
               checkpoint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (run_id, image_id) DO UPDATE SET class_index = excluded.class_index,
               probability = excluded.probability, true_probability = excluded.true_probability,
               correct = excluded.correct, checkpoint = excluded.checkpoint, created_at = excluded.created_at`,
            p.runId,
            p.imageId,
            p.classIndex,
            p.probability,
            p.trueProbability,
            p.correct === null ? null : p.correct ? 1 : 0,
            p.checkpoint,
            now,
          );
        }
      });
    },
    get(runId, imageId) {
      const r = ctx.get<Row>('SELECT * FROM predictions WHERE run_id = ? AND image_id = ?', runId, imageId);
      return r && toPrediction(r);
    },
    current(runId, checkpoint, imageIds) {
      const out = new Set<number>();
      // Chunked: a bound-parameter list has a limit (SQLite's default is 32,766).
      for (let i = 0; i < imageIds.length; i += 500) {
        const chunk = imageIds.slice(i, i + 500);
        // Padded to a power of two with 0 (no image has id 0): a handful of statements, not one per length.
        let n = 1;
        while (n < chunk.length) n *= 2;
        const ids = [...chunk, ...new Array<number>(n - chunk.length).fill(0)];
        const rows = ctx.all<{ image_id: number }>(
          `SELECT image_id FROM predictions WHERE run_id = ? AND checkpoint = ? AND image_id IN (${ids
            .map(() => '?')
            .join(', ')})`,
          runId,
          checkpoint,
          ...ids,
        );
        for (const r of rows) out.add(r.image_id);
      }
      return out;
    },
    count(runId) {
      return ctx.get<{ n: number }>('SELECT count(*) AS n FROM predictions WHERE run_id = ?', runId)?.n ?? 0;
    },
  };
}
