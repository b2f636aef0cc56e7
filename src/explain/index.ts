/**
 * Explanation methods of xwb. Every method maps images [N, S, S, C] and a class per image to one Float32 map
 * per image at the input resolution ({@link ExplainMethod}).
 *
 * What "the model" is that post-hoc methods explain, per kind (all in inference mode):
 * - classifier: the VGG classifier gated by its constant white map, i.e. the classifier alone;
 * - expclass: the whole model, classifier(x, explainer(x)); gradients flow through both the image path and the
 *   explainer's map. LRP treats the map as a fixed gate (relevance stays on the image path); Grad-CAM looks at
 *   the classifier's last convolution block;
 * - xcnn: classifier(generator(x)); every method reaches the image through the generator.
 */
export { COMPOSITE_NAMES, COMPOSITES, type Composite, type CompositeName } from './lrp/composites.js';
export { getMethod, listMethods, methodNames } from './registry.js';
export { REDUCTIONS, type Reduction } from './tensor.js';
export type {
  ClassTarget,
  ExplainContext,
  ExplainMethod,
  ExplainPartial,
  ExplainProgress,
  ExplainResult,
  MethodFamily,
  Params,
  ParamValue,
} from './types.js';
