/** Train/val/test assignment of images ('trainval' is VOC's union of train and val, not stored). */
import { positiveInt, type StoreContext } from './context.js';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export interface SplitAssignment {
  imageId: number;
  /** `null` removes the image from any split. */
  split: Split | null;
}

export interface SplitsApi {
  /** All in one transaction: a partial assignment is never left behind. */
  set(assignments: readonly SplitAssignment[]): void;
  /** Image ids of a dataset in a split, ascending. */
  ids(datasetId: number, split: Split): number[];
  /** Removes every split assignment of a dataset. */
  clear(datasetId: number): void;
}

export function splitsApi(ctx: StoreContext): SplitsApi {
  return {
    set(assignments) {
      ctx.tx(() => {
        for (const a of assignments) {
          positiveInt(a.imageId, 'splits.set: imageId');
          if (a.split === null) {
            ctx.run('DELETE FROM splits WHERE image_id = ?', a.imageId);
            continue;
          }
          if (!SPLITS.includes(a.split)) {
            throw new Error(
              `splits.set: image ${a.imageId}: split must be one of ${SPLITS.join(', ')}, got "${a.split}"`,
            );
          }
          if (ctx.get('SELECT 1 FROM images WHERE id = ?', a.imageId) === undefined) {
            throw new Error(`splits.set: no image with id ${a.imageId} in ${ctx.file}`);
          }
          ctx.run(
            'INSERT INTO splits (image_id, split) VALUES (?, ?) ON CONFLICT (image_id) DO UPDATE SET split = excluded.split',
            a.imageId,
            a.split,
          );
        }
      });
    },
    ids(datasetId, split) {
      return ctx
        .all<{ id: number }>(
          `SELECT i.id AS id FROM images i JOIN splits s ON s.image_id = i.id
           WHERE i.dataset_id = ? AND s.split = ? ORDER BY i.id`,
          positiveInt(datasetId, 'splits.ids: datasetId'),
          split,
        )
        .map((r) => r.id);
    },
    clear(datasetId) {
      ctx.tx(() =>
        ctx.run(
          'DELETE FROM splits WHERE image_id IN (SELECT id FROM images WHERE dataset_id = ?)',
          datasetId,
        ),
      );
    },
  };
}
