/**
 * In-model explanations: the map the model itself produces. expclass: the explainer's map in [0, 1) (the one
 * gating the classifier); xcnn: the generator's heatmap in [−1, 1] (the classifier's input). Neither depends
 * on the class asked for. Resized bilinearly if a part ever produced another size.
 */
import { tf } from '../../engine/tf.js';
import { defineMethod } from '../run.js';
import { resizeMap } from '../tensor.js';

export const explainerMap = defineMethod({
  name: 'explainer',
  family: 'in-model',
  description:
    "the model's own map: expclass's explainer (Rio-Torto et al. 2020), xcnn's heatmap (Tavanaei 2020)",
  classSpecific: false,
  defaults: {},
  check: () => {},
  async run({ model, x }) {
    if (!model.parts.explainer) {
      throw new Error(
        `explain explainer: a ${model.kind} model has no explainer of its own; use a post-hoc method (e.g. gradcam)`,
      );
    }
    if (model.explainerUntrained) {
      throw new Error(
        'explain explainer: this run trained only its classifier (on white maps), so its explainer is untrained; ' +
          'train the explainer phases from it (xwb train DATASET --init-from RUN --phases explainer,joint) or use a post-hoc method',
      );
    }
    const map = tf.tidy(() => {
      const { logits, explanation } = model.predict(x, { training: false });
      logits.dispose();
      return resizeMap(explanation, model.inputSize);
    });
    return { map };
  },
});
