/**
 * Every explanation method of xwb by name. A new method is one file under methods/ and one line here.
 */

import { gradCam, gradCamPlusPlus, guidedGradCam } from './methods/cam.js';
import { inputControl, randomControl } from './methods/controls.js';
import { gradient, inputTimesGradient } from './methods/gradient.js';
import { explainerMap } from './methods/inmodel.js';
import { integratedGradients } from './methods/integrated.js';
import {
  deepTaylor,
  lrp,
  lrpAlpha2Beta1,
  lrpEpsilon,
  lrpEpsilonPlus,
  lrpEpsilonPlusFlat,
} from './methods/lrp.js';
import { deconvnet, guidedBackprop } from './methods/modified.js';
import { occlusion } from './methods/occlusion.js';
import { rise } from './methods/rise.js';
import { smoothGrad, squareGrad, varGrad } from './methods/smoothgrad.js';
import type { ExplainMethod } from './types.js';

const METHODS: readonly ExplainMethod[] = [
  explainerMap,
  inputControl,
  randomControl,
  gradient,
  inputTimesGradient,
  smoothGrad,
  squareGrad,
  varGrad,
  integratedGradients,
  guidedBackprop,
  deconvnet,
  gradCam,
  guidedGradCam,
  gradCamPlusPlus,
  occlusion,
  rise,
  lrp,
  lrpEpsilon,
  lrpEpsilonPlus,
  lrpEpsilonPlusFlat,
  lrpAlpha2Beta1,
  deepTaylor,
];

const BY_NAME = new Map(METHODS.map((m) => [m.name, m]));
if (BY_NAME.size !== METHODS.length) throw new Error('internal: two explanation methods share a name');

export function listMethods(): readonly ExplainMethod[] {
  return METHODS;
}

export function methodNames(): string[] {
  return METHODS.map((m) => m.name);
}

export function getMethod(name: string): ExplainMethod {
  const m = BY_NAME.get(name);
  if (!m) throw new Error(`unknown explanation method '${name}'; known methods: ${methodNames().join(', ')}`);
  return m;
}
