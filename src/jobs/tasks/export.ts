/**
 * Export of a dataset as a job (`xwb export --with …`): the VOC folder and the parts asked for. The export is
 * synchronous file work; in the job thread it blocks nothing, and `ctx.progress` is its cancellation point
 * (the export removes its temp folder when the callback throws, so a cancelled export leaves nothing behind).
 */
import type { ExportJobParams } from '../../api/contract.js';
import { exportDataset } from '../../data/export/export.js';
import { exportRatedDataset } from '../../review/exchange/export.js';
import type { Json } from '../../store/index.js';
import type { Task } from '../task.js';

export const task: Task = {
  async run(raw, ctx) {
    const p = raw as unknown as ExportJobParams;
    const onProgress = (done: number, total: number) =>
      ctx.progress({ done, total, stage: 'copying images' });
    const report =
      p.with.length > 0
        ? exportRatedDataset(ctx.store, p.datasetId, p.outDir, { with: p.with, onProgress })
        : exportDataset(ctx.store, p.datasetId, p.outDir, { onProgress });
    return JSON.parse(JSON.stringify(report)) as Json;
  },
};
