/**
 * Saving and loading a whole XwbModel as one folder:
 *
 *   <dir>/xwb-model.json            { format: 'xwb-model', version: 1, spec }
 *   <dir>/explainer/model.json, weights.bin   (absent for the `classifier` kind)
 *   <dir>/classifier/model.json, weights.bin
 *
 * Each part is an ordinary tfjs layers model (topology + weights), so any engine can load it. The folder is
 * written next to its final place and renamed into it, so a crash never leaves a half-written model behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { tf } from '../engine/tf.js';
import { loadLayersModelFromDir, saveLayersModelToDir } from './io.js';
import { composeModel } from './model.js';
import { resolveClassifier, resolveExpClass, resolveXcnn } from './options.js';
import type { ClassifierOptions, ExpClassOptions, ModelSpec, XcnnOptions, XwbModel } from './types.js';

export const MANIFEST = 'xwb-model.json';
const FORMAT = 'xwb-model';
const VERSION = 1;

interface Manifest {
  format: typeof FORMAT;
  version: number;
  spec: ModelSpec;
}

export interface SaveOptions {
  /** Replace an existing folder (default false: refuse, so a trained model is never lost by accident). */
  overwrite?: boolean;
}

export async function saveModel(model: XwbModel, dir: string, options: SaveOptions = {}): Promise<void> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  if (fs.existsSync(target) && !options.overwrite) {
    throw new Error(
      `cannot save the model to ${target}: it already exists (pass overwrite: true to replace it)`,
    );
  }
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.tmp-`));
  try {
    if (model.parts.explainer) await saveLayersModelToDir(model.parts.explainer, path.join(tmp, 'explainer'));
    await saveLayersModelToDir(model.parts.classifier, path.join(tmp, 'classifier'));
    const manifest: Manifest = { format: FORMAT, version: VERSION, spec: model.spec };
    fs.writeFileSync(path.join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    if (fs.existsSync(target)) {
      // rename() cannot replace a non-empty folder: move the old one aside first, drop it once the new one is in.
      const old = `${tmp}.old`;
      fs.renameSync(target, old);
      fs.renameSync(tmp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, target);
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(
      `cannot read ${file} (is ${dir} a folder written by saveModel?): ${(e as Error).message}`,
    );
  }
  const m = raw as Partial<Manifest> | null;
  if (m?.format !== FORMAT) throw new Error(`${file}: not an xwb model manifest (format is not "${FORMAT}")`);
  if (m.version !== VERSION) {
    throw new Error(
      `${file}: manifest version ${m.version} is not supported (this xwb reads version ${VERSION})`,
    );
  }
  const spec = m.spec as { kind?: unknown; options?: unknown } | undefined;
  // Re-validating through the builders' resolvers rejects edited or corrupt options with the usual messages.
  let resolved: ModelSpec;
  try {
    if (spec?.kind === 'expclass')
      resolved = resolveExpClass(legacyExpClass(spec.options as ExpClassOptions));
    else if (spec?.kind === 'xcnn') resolved = resolveXcnn(spec.options as XcnnOptions);
    else if (spec?.kind === 'classifier') resolved = resolveClassifier(spec.options as ClassifierOptions);
    else throw new Error(`unknown model kind ${JSON.stringify(spec?.kind)}`);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  return { format: FORMAT, version: VERSION, spec: resolved };
}

/**
 * Manifests written before the explainer's layout became an option hold the reference layout; reading them with
 * today's defaults would describe a model other than the one whose layers were saved.
 */
function legacyExpClass(o: ExpClassOptions): ExpClassOptions {
  if (o == null || typeof o !== 'object' || 'explainerHead' in o) return o;
  return { explainerUpsample: 'transpose', explainerHead: 'tanh-relu', ...o };
}

function checkShape(dir: string, part: string, got: (number | null)[], want: (number | null)[]): void {
  if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
    throw new Error(
      `${path.join(dir, part)}: shape [${got.join(', ')}] does not match the manifest's [${want.join(', ')}]`,
    );
  }
}

export async function loadModel(dir: string): Promise<XwbModel> {
  const source = path.resolve(dir);
  const { spec } = readManifest(source);
  const { inputSize: s, channels, classes } = spec.options;
  const explainer =
    spec.kind === 'classifier' ? null : await loadLayersModelFromDir(path.join(source, 'explainer'));
  let classifier: tf.LayersModel | undefined;
  try {
    classifier = await loadLayersModelFromDir(path.join(source, 'classifier'));
    if (explainer) {
      checkShape(source, 'explainer', explainer.inputs[0].shape, [null, s, s, channels]);
      checkShape(source, 'explainer', explainer.outputs[0].shape, [null, s, s, 1]);
    }
    checkShape(source, 'classifier', classifier.outputs[0].shape, [null, classes]);
    return composeModel(spec, { explainer, classifier });
  } catch (e) {
    explainer?.dispose();
    classifier?.dispose();
    throw e;
  }
}
