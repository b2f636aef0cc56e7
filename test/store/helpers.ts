import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../../src/store/index.js';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-store-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A store on a real file in a fresh temp folder; `done()` closes it and removes the folder. */
export function tempStore(): { store: Store; dir: string; file: string; done: () => void } {
  const dir = tempDir();
  const file = path.join(dir, 'xwb.db');
  const store = openStore(file);
  return {
    store,
    dir,
    file,
    done: () => {
      store.close();
      removeDir(dir);
    },
  };
}

export const sha = (n: number): string => n.toString(16).padStart(64, '0');

/** A dataset with `n` 64×48 images named img0.jpg …, labels alternating cat/dog. */
export function seedDataset(store: Store, n = 4, name = 'pets'): { datasetId: number; imageIds: number[] } {
  const d = store.datasets.create({
    name,
    kind: 'folder',
    sourcePath: '/data/pets',
    classes: ['cat', 'dog'],
  });
  const r = store.images.upsertMany(
    Array.from({ length: n }, (_, i) => ({
      datasetId: d.id,
      relPath: `img${i}.jpg`,
      width: 64,
      height: 48,
      channels: 3,
      format: 'jpeg',
      sha256: sha(i + 1),
      label: i % 2 === 0 ? 'cat' : 'dog',
    })),
  );
  return { datasetId: d.id, imageIds: r.ids };
}

/** A dataset, a run and one explanation per image: what a review needs. */
export function seedExplanations(
  store: Store,
  n = 2,
): { datasetId: number; runId: number; explanationIds: number[] } {
  const { datasetId, imageIds } = seedDataset(store, n);
  const run = store.runs.create({ datasetId, model: 'expclass', config: { lr: 0.001 }, engine: 'wasm' });
  const explanationIds = imageIds.map(
    (imageId) =>
      store.explanations.put({
        runId: run.id,
        imageId,
        classIndex: 0,
        method: 'explainer',
        params: {},
        width: 2,
        height: 2,
        encoding: 'u8',
        data: Buffer.from([0, 64, 128, 255]),
      }).id,
  );
  return { datasetId, runId: run.id, explanationIds };
}
