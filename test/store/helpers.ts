import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EngineKind, type OpenStoreOptions, openStore, type Store } from '../../src/store/index.js';
import { createTestDatabase } from './engines.js';

export { engineTest, type RawConnection, rawConnection } from './engines.js';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-store-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A store on a fresh real database; `done()` closes it and removes the folder (and the PostgreSQL database). */
export interface TempStore {
  store: Store;
  engine: EngineKind;
  dir: string;
  /** What was given to openStore: the file path, or the database's URL. */
  file: string;
  done: () => void;
}

/** On a real file in a fresh temp folder (SQLite), or in a fresh database of the test cluster (PostgreSQL). */
export function tempStore(engine: EngineKind = 'sqlite', opts: OpenStoreOptions = {}): TempStore {
  const dir = tempDir();
  if (engine === 'sqlite') {
    const file = path.join(dir, 'xwb.db');
    const store = openStore(file, opts);
    return {
      store,
      engine,
      dir,
      file,
      done: () => {
        store.close();
        removeDir(dir);
      },
    };
  }
  const db = createTestDatabase();
  try {
    const store = openStore(db.url, opts);
    return {
      store,
      engine,
      dir,
      file: db.url,
      done: () => {
        store.close();
        db.drop();
        removeDir(dir);
      },
    };
  } catch (err) {
    db.drop();
    removeDir(dir);
    throw err;
  }
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
