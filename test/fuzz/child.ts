/**
 * The process that imports the fuzz cases (see harness.ts): separate from the harness so a native crash, an
 * out-of-memory abort or a hang in it is observed, counted and survived instead of ending the run. For each
 * request it imports one case folder into the named store and answers with what the import reported, plus the
 * stored images the training decoder cannot read (import must accept only what training can decode).
 */
import path from 'node:path';
import { importDataset } from '../../src/data/import/import.js';
import { openStore, type Store } from '../../src/store/index.js';
import { decodeImage } from '../../src/training/data/decode.js';
import { placeImage } from '../../src/training/data/placement.js';

export interface ChildRequest {
  storePath: string;
  dir: string;
  name: string;
}

export type ChildReply =
  | {
      ok: true;
      errors: { file: string; message: string }[];
      warnings: { file: string; message: string }[];
      stored: string[];
      untrainable: string[];
      rss: number;
    }
  | {
      ok: false;
      errorName: string;
      message: string;
      problems: { file: string; message: string }[];
      rss: number;
    };

let store: Store | undefined;

function storeAt(file: string): Store {
  if (store?.path !== file) {
    store?.close();
    store = openStore(file);
  }
  return store;
}

async function handle(req: ChildRequest): Promise<ChildReply> {
  const s = storeAt(req.storePath);
  try {
    const r = await importDataset(s, req.dir, { name: req.name });
    const images = s.images.list(r.dataset.id);
    const untrainable: string[] = [];
    for (const im of images) {
      try {
        await decodeImage({
          file: path.join(req.dir, im.relPath),
          sha256: im.sha256,
          placement: placeImage(im.width, im.height, 16, 'stretch'),
          kernel: 'linear',
          padValue: 1,
        });
      } catch (e) {
        untrainable.push(`${im.relPath}: ${(e as Error).message}`);
      }
    }
    return {
      ok: true,
      errors: r.errors.map((e) => ({ file: e.file, message: e.message.slice(0, 500) })),
      warnings: r.warnings.map((w) => ({ file: w.file, message: w.message.slice(0, 500) })),
      stored: images.map((im) => im.relPath),
      untrainable,
      rss: process.memoryUsage.rss(),
    };
  } catch (e) {
    const err = e as Error & { problems?: { file: string; message: string }[] };
    return {
      ok: false,
      errorName: err?.name ?? typeof e,
      message: String(err?.message ?? e).slice(0, 2000),
      problems: (err?.problems ?? []).map((p) => ({ file: p.file, message: p.message.slice(0, 500) })),
      rss: process.memoryUsage.rss(),
    };
  }
}

process.on('message', (req: ChildRequest) => {
  handle(req).then(
    (reply) => process.send?.(reply),
    (e) => {
      // handle() catches everything an import throws; reaching here is a bug in this file.
      console.error(e);
      process.exit(70);
    },
  );
});
process.on('disconnect', () => {
  store?.close();
  process.exit(0);
});
