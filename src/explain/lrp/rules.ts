/**
 * Layer-wise relevance propagation rules, each composed Zennit-style from five small parts:
 *   1. input modifiers   x → x_k        (one per pass),
 *   2. param modifiers   (W, b) → (W_k, b_k),
 *   3. output modifier   z_k → z_k'     (identity for every rule here),
 *   4. gradient mapper   (R_out, z') → the vector each pass's vjp is taken with (usually R_out / stabilised z),
 *   5. reducer           (x_k, g_k) → R_in.
 * Pass k computes z_k = layer(x_k; W_k, b_k) and g_k = (∂z_k/∂x_k)ᵀ · mapper_k; the rule's relevance is the
 * reducer of those. ε, z+, α-β, z^B, flat and w² differ only in these parts.
 */
import { tf } from '../../engine/tf.js';
import type { LinearParams } from '../graph/types.js';

type T = tf.Tensor;

export interface RuleContext {
  /** [low, high] of the input values: the box of the z^B rule. */
  bounds: [number, number];
}

export interface Rule {
  readonly name: string;
  readonly inputs: readonly ((x: T, ctx: RuleContext) => T)[];
  readonly params: readonly ((p: LinearParams) => LinearParams)[];
  readonly output?: (zs: T[]) => T[];
  readonly gradient: (relevance: T, zs: T[]) => T[];
  readonly reduce: (xs: T[], grads: T[]) => T;
}

/** z + ε·sign(z) with sign(0) = +1: keeps the denominator away from zero without flipping its sign. */
export function stabilize(z: T, epsilon: number): T {
  return tf.add(z, tf.mul(tf.where(tf.greaterEqual(z, 0), tf.onesLike(z), tf.onesLike(z).neg()), epsilon));
}

/** The default stabiliser of rules that have no ε of their own (Zennit uses 1e-6 likewise). */
const TINY = 1e-6;

const same = (x: T) => x;
const positive = (x: T) => tf.relu(x);
const negative = (x: T) => tf.neg(tf.relu(tf.neg(x)));

const keep = (p: LinearParams) => p;
const withoutBias = (p: LinearParams): LinearParams => ({ kernel: p.kernel, bias: null });
const positiveWeights = (withBias: boolean) => (p: LinearParams) => ({
  kernel: positive(p.kernel),
  bias: withBias && p.bias ? (positive(p.bias) as tf.Tensor1D) : null,
});
const negativeWeights = (withBias: boolean) => (p: LinearParams) => ({
  kernel: negative(p.kernel),
  bias: withBias && p.bias ? (negative(p.bias) as tf.Tensor1D) : null,
});

const sumOf = (ts: T[]): T => ts.reduce((a, b) => tf.add(a, b));

/** ε-rule (Bach et al. 2015): R_i = x_i Σ_j w_ij R_j / (z_j + ε sign z_j). ε → 0 is LRP-0 (gradient × input). */
export function epsilonRule(epsilon: number): Rule {
  return {
    name: `epsilon(${epsilon})`,
    inputs: [same],
    params: [keep],
    gradient: (r, [z]) => [tf.div(r, stabilize(z, epsilon))],
    reduce: ([x], [g]) => tf.mul(x, g),
  };
}

/**
 * z+ (Montavon et al. 2017, deep Taylor for ReLU layers): only positive contributions x_i⁺w_ij⁺ + x_i⁻w_ij⁻
 * count, and the bias is left out, as in deep Taylor's derivation (which assumes non-positive biases). Relevance
 * keeps the sign of the relevance above. It is conserved only where every output j has some positive
 * contribution: an output active only through its (positive) bias has Σ_i x_i⁺w_ij⁺ + x_i⁻w_ij⁻ = 0, and its
 * relevance is lost. Batch norm folded into biases makes such outputs common: an audit of a trained batch-norm
 * classifier found ~40 % of the logit reaching the input. The LRP methods report that fraction as `conservation`.
 */
export const zPlusRule: Rule = {
  name: 'zplus',
  inputs: [positive, negative],
  params: [positiveWeights(false), negativeWeights(false)],
  gradient: (r, zs) => {
    const s = tf.div(r, stabilize(sumOf(zs), TINY));
    return [s, s];
  },
  reduce: ([xp, xn], [gp, gn]) => tf.add(tf.mul(xp, gp), tf.mul(xn, gn)),
};

/**
 * α-β (Bach et al. 2015) with α − β = 1: positive contributions (x⁺w⁺, x⁻w⁻, positive bias) weighted by α,
 * negative ones (x⁺w⁻, x⁻w⁺, negative bias) by β, each normalised by its own total.
 */
export function alphaBetaRule(alpha: number, beta: number): Rule {
  return {
    name: `alpha${alpha}beta${beta}`,
    inputs: [positive, negative, positive, negative],
    params: [positiveWeights(true), negativeWeights(false), negativeWeights(true), positiveWeights(false)],
    gradient: (r, [a, b, c, d]) => {
      const sp = tf.div(r, stabilize(tf.add(a, b), TINY));
      const sn = tf.div(r, stabilize(tf.add(c, d), TINY));
      return [sp, sp, sn, sn];
    },
    reduce: ([xp, xn, xp2, xn2], [g1, g2, g3, g4]) =>
      tf.sub(
        tf.mul(tf.add(tf.mul(xp, g1), tf.mul(xn, g2)), alpha),
        tf.mul(tf.add(tf.mul(xp2, g3), tf.mul(xn2, g4)), beta),
      ),
  };
}

/**
 * z^B, the box rule (Montavon et al. 2017) for the input layer, whose inputs live in [l, h]:
 * R_i = (x_i w_ij − l_i w_ij⁺ − h_i w_ij⁻) / Σ_i(…) · R_j.
 * The bias is in neither numerator nor denominator (in Zennit's ZBox it cancels: b − b⁺ − b⁻ = 0), so the layer
 * passes on exactly the relevance it receives. It matters because batch norm folded into the first convolution
 * always gives it a bias: with the bias in the denominator only, ~10 % of the relevance vanished here.
 */
export const zBoxRule: Rule = {
  name: 'zbox',
  inputs: [same, (x, ctx) => tf.fill(x.shape, ctx.bounds[0]), (x, ctx) => tf.fill(x.shape, ctx.bounds[1])],
  params: [withoutBias, positiveWeights(false), negativeWeights(false)],
  gradient: (r, [z, zl, zh]) => {
    const s = tf.div(r, stabilize(tf.sub(tf.sub(z, zl), zh), TINY));
    return [s, s, s];
  },
  reduce: ([x, l, h], [g1, g2, g3]) => tf.sub(tf.sub(tf.mul(x, g1), tf.mul(l, g2)), tf.mul(h, g3)),
};

/** Flat (Lapuschkin et al. 2019): relevance spread evenly over each output's receptive field. */
export const flatRule: Rule = {
  name: 'flat',
  inputs: [(x) => tf.onesLike(x)],
  params: [(p) => ({ kernel: tf.onesLike(p.kernel), bias: null })],
  gradient: (r, [z]) => [tf.div(r, stabilize(z, TINY))],
  reduce: (_xs, [g]) => g,
};

/** w² (Montavon et al. 2017): relevance spread in proportion to the squared weights, whatever the input. */
export const wSquareRule: Rule = {
  name: 'wsquare',
  inputs: [(x) => tf.onesLike(x)],
  params: [(p) => ({ kernel: tf.square(p.kernel), bias: null })],
  gradient: (r, [z]) => [tf.div(r, stabilize(z, TINY))],
  reduce: (_xs, [g]) => g,
};

/**
 * Runs `rule` on one linear layer: `layer(x, params)` is the layer's forward function. The gradients are
 * vector-Jacobian products of the modified passes, taken with tf.grad.
 */
export function applyRule(
  rule: Rule,
  layer: (x: T, p: LinearParams) => T,
  x: T,
  params: LinearParams,
  relevance: T,
  ctx: RuleContext,
): T {
  if (rule.inputs.length !== rule.params.length) {
    throw new Error(
      `internal: rule ${rule.name} has ${rule.inputs.length} input and ${rule.params.length} param modifiers`,
    );
  }
  const xs = rule.inputs.map((f) => f(x, ctx));
  const ps = rule.params.map((f) => f(params));
  const raw = xs.map((xk, k) => layer(xk, ps[k]));
  const zs = rule.output ? rule.output(raw) : raw;
  const outGrads = rule.gradient(relevance, zs);
  const grads = xs.map((xk, k) => tf.grad((v: T) => layer(v, ps[k]))(xk, outGrads[k]));
  return rule.reduce(xs, grads);
}
