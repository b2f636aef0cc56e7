/**
 * Stores for the review tests, built through the store API only: a dataset of fake image records (no files), runs,
 * and explanations with random float32 maps, as `xwb explain` would leave them. No model is needed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../../src/store/index.js';
import { Random } from '../../src/util/random.js';

export const sha = (n: number): string => n.toString(16).padStart(64, '0');

export function randomMap(rng: Random, width: number, height: number): Buffer {
  const b = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) b.writeFloatLE(rng.normal(), i * 4);
  return b;
}

export interface ReviewFixture {
  store: Store;
  dir: string;
  file: string;
  datasetId: number;
  runIds: number[];
  imageIds: number[];
  methods: string[];
  done: () => void;
}

/** `images` test-split images, `runs` runs, and one 4×4 f32 explanation per run, image and method. */
export function reviewFixture(
  opts: { images?: number; runs?: number; methods?: string[] } = {},
): ReviewFixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-review-'));
  const file = path.join(dir, 'xwb.db');
  const store = openStore(file);
  const methods = opts.methods ?? ['gradcam', 'explainer'];
  const ds = store.datasets.create({
    name: 'shapes',
    kind: 'synthetic',
    sourcePath: dir,
    classes: ['no-triangle', 'triangle'],
  });
  const n = opts.images ?? 6;
  const { ids: imageIds } = store.images.upsertMany(
    Array.from({ length: n }, (_, i) => ({
      datasetId: ds.id,
      relPath: `JPEGImages/img${i}.png`,
      width: 8,
      height: 6,
      channels: 3,
      format: 'png',
      sha256: sha(i + 1),
      label: 'triangle',
    })),
  );
  store.splits.set(imageIds.map((imageId) => ({ imageId, split: 'test' as const })));
  const rng = new Random('review-fixture');
  const runIds: number[] = [];
  for (let r = 0; r < (opts.runs ?? 1); r++) {
    const run = store.runs.create({
      datasetId: ds.id,
      model: 'expclass',
      config: { seed: r },
      engine: 'cpu',
    });
    runIds.push(run.id);
    for (const imageId of imageIds) {
      for (const method of methods) {
        store.explanations.put({
          runId: run.id,
          imageId,
          classIndex: 1,
          method,
          params: {},
          width: 4,
          height: 4,
          encoding: 'f32le',
          data: randomMap(rng, 4, 4),
        });
      }
    }
  }
  return {
    store,
    dir,
    file,
    datasetId: ds.id,
    runIds,
    imageIds,
    methods,
    done: () => {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
