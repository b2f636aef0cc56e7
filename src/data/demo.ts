import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Store, storeFilesDir } from '../store/index.js';
import type { TrainConfigInput } from '../training/config.js';
import { type ImportReport, importDataset } from './import/import.js';
import { generateDataset } from './synthetic/generate.js';

/**
 * The built-in demo: the paper's colour-cue task (a green triangle among black circles) at a size that trains in
 * minutes. With the cue a small model learns it in a few epochs, so the first explanation a newcomer sees is one
 * that found the triangle; the plain task needs the paper's budget (docs/paper-reproduction.md).
 */
export const DEMO_OPTIONS = {
  images: 200,
  colourCue: true,
  positives: 124,
  width: 64,
  height: 64,
  shapesPerImage: 6,
  seed: 2019,
};
export const DEMO_NAME = 'demo-triangles';

/** Where the demo (and datasets generated from the workbench) live: next to the store. */
export function datasetsFolder(store: Store): string {
  return join(storeFilesDir(store.path), 'datasets');
}

/**
 * Generates (once) and imports the demo dataset when the store has no dataset yet; null when it has one. The CLI's
 * `start` and the workbench's "create the demo dataset" both come here, so they make the same set in the same place.
 */
export async function ensureDemoDataset(
  store: Store,
  onProgress?: (done: number, total: number) => void,
): Promise<ImportReport | null> {
  if (store.datasets.list().length > 0) return null;
  const dir = join(datasetsFolder(store), DEMO_NAME);
  if (!existsSync(dir)) await generateDataset(dir, DEMO_OPTIONS, onProgress);
  return importDataset(store, dir, { name: DEMO_NAME });
}

/**
 * The demo model trained on first start: the current defaults of `xwb train` for everything about the model
 * (kind, layout, optimiser, rates, α), only smaller images, a narrower first stage and a few epochs per phase, so it finishes in
 * about a minute on the WebAssembly engine of a 2-core machine and the newcomer sees an explanation soon.
 */
export const DEMO_TRAINING = {
  /** The demo's own size: at 32 px its outlines are 1–2 px and the classifier does not learn them in time. */
  inputSize: 64,
  /**
   * Channels of the first stage (the default is 32). At 8 the classifier stayed at the majority rate on these 150
   * training images after 6 epochs (measured); 16 is the narrowest width that learned the colour cue in 5.
   */
  base: 16,
  epochs: { classifier: 5, explainer: 5, joint: 10 },
} as const;

/** The training config of the demo model for the demo dataset `datasetId` (resolveTrainConfig fills the rest). */
export function demoTrainConfig(datasetId: number): TrainConfigInput {
  const e = DEMO_TRAINING.epochs;
  return {
    datasetId,
    model: { inputSize: DEMO_TRAINING.inputSize, base: DEMO_TRAINING.base },
    phases: {
      classifier: { epochs: e.classifier },
      explainer: { epochs: e.explainer },
      joint: { epochs: e.joint },
    },
  };
}
