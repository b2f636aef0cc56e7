/**
 * The networks as tfjs layers models: the U-Net explainer (Rio-Torto et al.), the XCNN generator (Tavanaei) and
 * the VGG-like classifier both papers put after them. Each is a separate LayersModel so that training phases can
 * freeze one part and each part saves and loads on its own.
 *
 * Input names are fixed ('image', 'explanation') because the composed model feeds the classifier by name.
 */
import { tf } from '../engine/tf.js';
import { SeededDropout } from './dropout.js';
import {
  apply,
  avgPool,
  batchNormLayer,
  convBlock,
  glorotUniform,
  heNormal,
  maxPool,
  Seeds,
} from './layers.js';

export const IMAGE_INPUT = 'image';
export const MAP_INPUT = 'explanation';

/**
 * The explainer: a 3-level U-Net (blocks of base·1, ·2, ·4 filters, each followed by 2×2 max pooling) whose
 * decoder outputs are ADDED to the matching encoder block, then a 1×1 head that makes a map in [0, 1].
 *
 * - upsample 'transpose' (expclass_torch.py): 2×2 stride-2 transposed convolutions. Each output pixel sees one
 *   kernel tap chosen by its position modulo 2, which paints the period-2 lattice measured on every map
 *   (Odena et al. 2016, "Deconvolution and checkerboard artifacts").
 *   'resize': nearest-neighbour ×2 then a 3×3 convolution, which treats every output position alike.
 * - head 'tanh-relu' (reference): batch normalisation whose beta starts at `bias`, tanh, ReLU. It starts
 *   saturated (tanh′(3) ≈ 0.01) and a pixel at 0 passes no gradient, so a map that died stays dead.
 *   'sigmoid': sigmoid(conv + bias), never saturated at zero: a pixel switched off can come back.
 * - explainerBatchNorm: batch normalisation in the explainer's blocks (the reference has none; today's default
 *   has it, see ExpClassOptions.explainerBatchNorm).
 */
export function buildUNetExplainer(o: {
  inputSize: number;
  channels: number;
  base: number;
  bias: number;
  upsample: 'transpose' | 'resize';
  head: 'tanh-relu' | 'sigmoid';
  batchNorm: boolean;
  seed?: number;
}): tf.LayersModel {
  const seeds = new Seeds(o.seed);
  const b = o.base;
  const bn = o.batchNorm;
  const image = tf.input({ name: IMAGE_INPUT, shape: [o.inputSize, o.inputSize, o.channels] });
  const d1 = convBlock(image, b, 'exp_d1', seeds, bn);
  const d2 = convBlock(maxPool(d1, 'exp_pool1'), 2 * b, 'exp_d2', seeds, bn);
  const d3 = convBlock(maxPool(d2, 'exp_pool2'), 4 * b, 'exp_d3', seeds, bn);
  let y = maxPool(d3, 'exp_pool3');
  const up = (x: tf.SymbolicTensor, filters: number, name: string) =>
    o.upsample === 'transpose'
      ? apply(
          tf.layers.conv2dTranspose({
            name,
            filters,
            kernelSize: 2,
            strides: 2,
            padding: 'valid',
            kernelInitializer: heNormal(seeds),
          }),
          x,
        )
      : apply(
          tf.layers.conv2d({
            name,
            filters,
            kernelSize: 3,
            padding: 'same',
            kernelInitializer: heNormal(seeds),
          }),
          apply(
            tf.layers.upSampling2d({ name: `${name}_resize`, size: [2, 2], interpolation: 'nearest' }),
            x,
          ),
        );
  const levels: [tf.SymbolicTensor, number, string][] = [
    [d3, 4 * b, '3'],
    [d2, 2 * b, '2'],
    [d1, b, '1'],
  ];
  for (const [skip, filters, k] of levels) {
    const sum = apply(tf.layers.add({ name: `exp_skip${k}` }), [up(y, filters, `exp_up${k}`), skip]);
    y = convBlock(sum, filters, `exp_u${k}`, seeds, bn);
  }
  if (o.head === 'sigmoid') {
    y = apply(
      tf.layers.conv2d({
        name: 'exp_head',
        filters: 1,
        kernelSize: 1,
        activation: 'sigmoid',
        kernelInitializer: glorotUniform(seeds),
        biasInitializer: tf.initializers.constant({ value: o.bias }),
      }),
      y,
    );
    return tf.model({ name: 'explainer', inputs: image, outputs: y });
  }
  y = apply(
    tf.layers.conv2d({
      name: 'exp_head',
      filters: 1,
      kernelSize: 1,
      kernelInitializer: glorotUniform(seeds),
    }),
    y,
  );
  y = apply(batchNormLayer('exp_head_bn', o.bias), y);
  y = apply(tf.layers.activation({ name: 'exp_tanh', activation: 'tanh' }), y);
  y = apply(tf.layers.activation({ name: 'exp_relu', activation: 'relu' }), y);
  return tf.model({ name: 'explainer', inputs: image, outputs: y });
}

/**
 * Tavanaei's generator: conv3×3 → `filters` channels, ReLU, 2×2 average pooling (to keep localisation, as the
 * paper argues), bilinear ×2 upsampling, conv3×3 → 1 channel, tanh: a heatmap in [-1, 1].
 * tfjs' bilinear resize uses half-open corners where the authors' PyTorch code aligned corners; at ×2 this only
 * shifts interpolation weights at the border.
 */
export function buildXcnnGenerator(o: {
  inputSize: number;
  channels: number;
  filters: number;
  seed?: number;
}): tf.LayersModel {
  const seeds = new Seeds(o.seed);
  const image = tf.input({ name: IMAGE_INPUT, shape: [o.inputSize, o.inputSize, o.channels] });
  let y = apply(
    tf.layers.conv2d({
      name: 'gen_conv1',
      filters: o.filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: heNormal(seeds),
    }),
    image,
  );
  y = avgPool(y, 'gen_pool');
  y = apply(tf.layers.upSampling2d({ name: 'gen_up', size: [2, 2], interpolation: 'bilinear' }), y);
  y = apply(
    tf.layers.conv2d({
      name: 'gen_conv2',
      filters: 1,
      kernelSize: 3,
      padding: 'same',
      activation: 'tanh',
      kernelInitializer: glorotUniform(seeds),
    }),
    y,
  );
  return tf.model({ name: 'generator', inputs: image, outputs: y });
}

export interface VggOptions {
  inputSize: number;
  channels: number;
  base: number;
  classes: number;
  batchNorm: boolean;
  dropout: number;
  seed?: number;
  /**
   * - 'gate' (expclass, classifier alone): inputs image and map; after each block and before its pooling the
   *   features are multiplied by the map, which is then pooled by `explanationPool` to follow them.
   * - 'map' (xcnn): the map is the only input.
   * - 'map+conv1x1' (xcnn, Figure 7): the map concatenated with tanh(conv1×1(image)).
   */
  mode: 'gate' | 'map' | 'map+conv1x1';
  explanationPool?: 'avg' | 'max';
  /**
   * Where the map gates ('gate' mode): 'stages' multiplies it into every block's features (Rio-Torto et al.);
   * 'input' multiplies the image by it once and leaves the blocks alone (the masking game of Dabkowski & Gal
   * 2017: the classifier sees only what the map keeps).
   */
  gateAt?: 'stages' | 'input';
  /** 'input' gating: the value a pixel takes where the map is 0 (see buildVggClassifier). */
  maskFill?: number;
}

/**
 * The VGG-like classifier: four blocks of base·1, ·2, ·4, ·8 filters, each followed by 2×2 max pooling, global
 * max pooling, then dense 128 – sigmoid – dropout – dense 128 – sigmoid – dropout – dense `classes` (logits).
 */
export function buildVggClassifier(o: VggOptions): tf.LayersModel {
  const seeds = new Seeds(o.seed);
  const s = o.inputSize;
  const map = tf.input({ name: MAP_INPUT, shape: [s, s, 1] });
  const image = tf.input({ name: IMAGE_INPUT, shape: [s, s, o.channels] });
  let inputs: tf.SymbolicTensor[];
  let x: tf.SymbolicTensor;
  let gate: tf.SymbolicTensor | null = null;
  if (o.mode === 'gate') {
    inputs = [image, map];
    if (o.gateAt === 'input') {
      // fill + m·(x − fill): where the map is 0 the classifier sees a plain image of the fill value (the
      // data's mean colour), not black, so a sparse map is a deletion of evidence rather than a new kind of
      // input (Fong & Vedaldi 2017 perturb towards a constant or blur for the same reason). Written as a
      // frozen 1×1 convolution (identity kernel, bias −fill) and a multiply, two ops every method understands.
      const centre = tf.layers.conv2d({
        name: 'cls_centre',
        filters: o.channels,
        kernelSize: 1,
        trainable: false,
        kernelInitializer: 'zeros',
        biasInitializer: tf.initializers.constant({ value: -(o.maskFill ?? 0) }),
      });
      const centred = apply(centre, image);
      const identity = [
        tf.tidy(() => tf.reshape(tf.eye(o.channels), [1, 1, o.channels, o.channels])),
        tf.fill([o.channels], -(o.maskFill ?? 0)),
      ];
      centre.setWeights(identity);
      tf.dispose(identity);
      x = apply(tf.layers.multiply({ name: 'cls_gate_input' }), [centred, map]);
    } else {
      x = image;
      gate = map;
    }
  } else if (o.mode === 'map') {
    inputs = [map];
    x = map;
  } else {
    inputs = [image, map];
    const side = apply(
      tf.layers.conv2d({
        name: 'cls_conv1x1',
        filters: 1,
        kernelSize: 1,
        activation: 'tanh',
        kernelInitializer: glorotUniform(seeds),
      }),
      image,
    );
    x = apply(tf.layers.concatenate({ name: 'cls_concat', axis: -1 }), [map, side]);
  }
  for (let k = 0; k < 4; k++) {
    x = convBlock(x, o.base * 2 ** k, `cls_b${k + 1}`, seeds, o.batchNorm);
    if (gate) {
      // Multiply's merge broadcasts the one-channel map over the feature channels.
      x = apply(tf.layers.multiply({ name: `cls_gate${k + 1}` }), [x, gate]);
    }
    x = maxPool(x, `cls_pool${k + 1}`);
    if (gate && k < 3) {
      gate =
        o.explanationPool === 'max'
          ? maxPool(gate, `cls_map_pool${k + 1}`)
          : avgPool(gate, `cls_map_pool${k + 1}`);
    }
  }
  x = apply(tf.layers.globalMaxPooling2d({ name: 'cls_gmp' }), x);
  for (const k of [1, 2]) {
    x = apply(
      tf.layers.dense({
        name: `cls_fc${k}`,
        units: 128,
        activation: 'sigmoid',
        kernelInitializer: glorotUniform(seeds),
      }),
      x,
    );
    x = apply(new SeededDropout({ name: `cls_drop${k}`, rate: o.dropout, seed: seeds.take() }), x);
  }
  const logits = apply(
    tf.layers.dense({ name: 'cls_logits', units: o.classes, kernelInitializer: glorotUniform(seeds) }),
    x,
  );
  return tf.model({ name: 'classifier', inputs, outputs: logits });
}
