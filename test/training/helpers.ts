/** Shared fixtures of the trainer tests: a small colour-cue synthetic set in a real store file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { openStore, type Store } from '../../src/store/index.js';
import type { TrainConfigInput } from '../../src/training/config.js';

export interface Fixture {
  dir: string;
  dbPath: string;
  store: Store;
  datasetId: number;
  datasetDir: string;
  /** Closes the store and removes every file. */
  done(): void;
}

/**
 * `images` images of `size` px, half with a green triangle among black circles (a colour cue a small net learns
 * in a few epochs), split 75/25 into train/val by the generator.
 */
export async function syntheticStore(
  opts: { images?: number; size?: number; seed?: number } = {},
): Promise<Fixture> {
  const size = opts.size ?? 32;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-train-'));
  const datasetDir = path.join(dir, 'shapes');
  await generateDataset(datasetDir, {
    width: size,
    height: size,
    images: opts.images ?? 160,
    colourCue: true,
    fill: true,
    shapesPerImage: [2, 4],
    seed: opts.seed ?? 3,
  });
  const dbPath = path.join(dir, 'xwb.db');
  const store = openStore(dbPath);
  const report = await importDataset(store, datasetDir, { name: 'shapes' });
  return {
    dir,
    dbPath,
    store,
    datasetId: report.dataset.id,
    datasetDir,
    done() {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The wasm engine: far faster than cpu for training. */
export async function wasm() {
  const info = await initEngine({ prefer: 'wasm', logger: () => {} });
  if (tf.getBackend() !== 'wasm') throw new Error(`expected the wasm backend, got ${tf.getBackend()}`);
  return info;
}

/** A tiny, fast configuration; override what a test needs. */
export function tinyConfig(datasetId: number, over: Partial<TrainConfigInput> = {}): TrainConfigInput {
  return {
    datasetId,
    model: { kind: 'classifier', inputSize: 32, base: 4 },
    data: { batchSize: 16 },
    seed: 5,
    patience: 0,
    ...over,
  };
}
