/**
 * Small graph-building helpers shared by the architectures. Only stock tfjs layers are used, except the seeded
 * dropout of dropout.ts, which registers itself with tfjs's serialization when this package is imported.
 */
import { tf } from '../engine/tf.js';

type Symbolic = tf.SymbolicTensor;
type Initializer = ReturnType<typeof tf.initializers.heNormal>;

/**
 * Hands out one seed per initialiser. A single fixed seed for all layers would give every layer of the same shape
 * identical weights, so the seeds are consecutive.
 */
export class Seeds {
  private next: number | undefined;
  constructor(seed: number | undefined) {
    this.next = seed;
  }
  take(): number | undefined {
    if (this.next === undefined) return undefined;
    return this.next++;
  }
}

/** He initialisation suits ReLU convolutions (Keras' Glorot default starves deep ReLU stacks). */
export function heNormal(seeds: Seeds): Initializer {
  return tf.initializers.heNormal({ seed: seeds.take() });
}

export function glorotUniform(seeds: Seeds): Initializer {
  return tf.initializers.glorotUniform({ seed: seeds.take() });
}

export function asSymbolic(out: tf.SymbolicTensor | tf.SymbolicTensor[] | tf.Tensor | tf.Tensor[]): Symbolic {
  if (out instanceof tf.SymbolicTensor) return out;
  throw new Error('internal: a layer applied to a symbolic input did not return one symbolic tensor');
}

export function apply(layer: tf.layers.Layer, input: Symbolic | Symbolic[]): Symbolic {
  return asSymbolic(layer.apply(input));
}

/**
 * conv3×3 – [BN] – ReLU, twice: the block of both papers' VGG-like stages and of the U-Net. With batch
 * normalisation the convolution has no bias (BN's beta replaces it); PyTorch's BN defaults (momentum 0.1,
 * eps 1e-5) are used so the two implementations behave alike.
 */
export function convBlock(
  x: Symbolic,
  filters: number,
  name: string,
  seeds: Seeds,
  batchNorm: boolean,
): Symbolic {
  for (const k of [1, 2]) {
    x = apply(
      tf.layers.conv2d({
        name: `${name}_conv${k}`,
        filters,
        kernelSize: 3,
        padding: 'same',
        useBias: !batchNorm,
        kernelInitializer: heNormal(seeds),
      }),
      x,
    );
    if (batchNorm) x = apply(batchNormLayer(`${name}_bn${k}`), x);
    x = apply(tf.layers.activation({ name: `${name}_relu${k}`, activation: 'relu' }), x);
  }
  return x;
}

export function batchNormLayer(name: string, beta = 0): tf.layers.Layer {
  return tf.layers.batchNormalization({
    name,
    momentum: 0.9,
    epsilon: 1e-5,
    betaInitializer: beta === 0 ? 'zeros' : tf.initializers.constant({ value: beta }),
  });
}

export function maxPool(x: Symbolic, name: string): Symbolic {
  return apply(tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2 }), x);
}

export function avgPool(x: Symbolic, name: string): Symbolic {
  return apply(tf.layers.averagePooling2d({ name, poolSize: 2, strides: 2 }), x);
}
