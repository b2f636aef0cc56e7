/**
 * tf.io handlers that keep a layers model in a folder as `model.json` + `weights.bin`, the layout of tfjs-node's
 * `file://` handler (so tfjs-node, the browser's `loadLayersModel` and these functions all read each other's
 * files), without needing tfjs-node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../engine/tf.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/** A save handler writing into `dir` (created if missing). Not atomic by itself: callers write into a temp dir. */
export function dirSaveHandler(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    if (artifacts.modelTopology == null || artifacts.weightSpecs == null) {
      throw new Error(`saving to ${dir}: the model produced no topology or weight specs`);
    }
    fs.mkdirSync(dir, { recursive: true });
    const modelJson: tf.io.ModelJSON = {
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
    };
    const bytes = weightBytes(artifacts.weightData);
    fs.writeFileSync(path.join(dir, WEIGHTS_BIN), bytes);
    fs.writeFileSync(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });
}

/** Reads what dirSaveHandler (or tfjs-node's file handler) wrote, all weight shards in manifest order. */
export function readModelArtifacts(dir: string): tf.io.ModelArtifacts {
  const jsonPath = path.join(dir, MODEL_JSON);
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
  } catch (e) {
    throw new Error(`cannot read model ${jsonPath}: ${(e as Error).message}`);
  }
  if (modelJson == null || typeof modelJson !== 'object' || modelJson.modelTopology == null) {
    throw new Error(`${jsonPath} is not a tfjs model.json (no modelTopology)`);
  }
  const manifest = modelJson.weightsManifest ?? [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const shards: ArrayBuffer[] = [];
  for (const group of manifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const file = path.join(dir, p);
      if (path.relative(dir, file).startsWith('..'))
        throw new Error(`${jsonPath}: weight path ${p} leaves ${dir}`);
      let buf: Buffer;
      try {
        buf = fs.readFileSync(file);
      } catch (e) {
        throw new Error(`cannot read weights ${file} listed in ${jsonPath}: ${(e as Error).message}`);
      }
      shards.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
    }
  }
  return {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    weightSpecs,
    weightData: tf.io.CompositeArrayBuffer.join(shards),
  };
}

export async function saveLayersModelToDir(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(dirSaveHandler(dir));
}

export async function loadLayersModelFromDir(dir: string): Promise<tf.LayersModel> {
  const artifacts = readModelArtifacts(dir);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new Error(`cannot build the model saved in ${dir}: ${(e as Error).message}`);
  }
}
