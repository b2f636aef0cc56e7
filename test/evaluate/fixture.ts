/**
 * A small real store for the evaluation and API tests: a generated 48×32 colour-cue set (non-square, so the
 * placement matters) and runs whose final checkpoint is an untrained, seeded model saved through the trainer's
 * own checkpoint function. Untrained keeps the fixture fast; every number the tests check is computed from the
 * same model, so a trained one would prove nothing more about the plumbing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { initEngine } from '../../src/engine/select.js';
import { tf } from '../../src/engine/tf.js';
import { buildClassifier, buildExpClass } from '../../src/models/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { saveCheckpoint } from '../../src/training/checkpoint.js';
import { activePhases, configToJson, modelOptions, resolveTrainConfig } from '../../src/training/config.js';
import type { ResizeMode } from '../../src/training/data/placement.js';

export interface EvalFixture {
  dir: string;
  dbPath: string;
  store: Store;
  datasetId: number;
  classes: string[];
  /** Creates a run with a saved (untrained) final checkpoint and returns its id. */
  makeRun(opts?: {
    kind?: 'expclass' | 'classifier';
    resize?: ResizeMode;
    seed?: number;
    /** Model input size (default 32) and base width (default 4). */
    inputSize?: number;
    base?: number;
  }): Promise<number>;
  done(): void;
}

export async function wasmEngine() {
  const info = await initEngine({ prefer: 'wasm', logger: () => {} });
  if (tf.getBackend() !== 'wasm') throw new Error(`expected the wasm backend, got ${tf.getBackend()}`);
  return info;
}

export async function evalFixture(
  images = 16,
  size: { width: number; height: number } = { width: 48, height: 32 },
): Promise<EvalFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xwb-eval-'));
  const datasetDir = path.join(dir, 'shapes');
  await generateDataset(datasetDir, {
    width: size.width,
    height: size.height,
    images,
    colourCue: true,
    fill: true,
    shapesPerImage: [2, 3],
    seed: 11,
  });
  const dbPath = path.join(dir, 'xwb.db');
  const store = openStore(dbPath);
  const report = await importDataset(store, datasetDir, { name: 'shapes' });
  const datasetId = report.dataset.id;
  const classes = store.datasets.getById(datasetId)!.classes;
  return {
    dir,
    dbPath,
    store,
    datasetId,
    classes,
    async makeRun(opts = {}) {
      const kind = opts.kind ?? 'expclass';
      const config = resolveTrainConfig({
        datasetId,
        model: { kind, inputSize: opts.inputSize ?? 32, base: opts.base ?? 4 },
        data: { resize: opts.resize ?? 'letterbox' },
        seed: opts.seed ?? 5,
      });
      const run = store.runs.create({ datasetId, model: kind, config: configToJson(config), engine: 'wasm' });
      const folder = path.join(dir, 'runs', String(run.id));
      const o = modelOptions(config, classes.length);
      const model = kind === 'classifier' ? buildClassifier(o) : buildExpClass(o);
      try {
        const phases = activePhases(config);
        await saveCheckpoint(store, run.id, folder, model, {
          phase: phases[phases.length - 1],
          epoch: 1,
          valLoss: 0.69,
          isBest: true,
        });
      } finally {
        model.dispose();
      }
      return run.id;
    },
    done() {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
