/**
 * An independent float64 re-statement of small sequential networks and of the attribution formulas, in plain
 * JS: no tfjs, no code shared with src/explain. Every layer with weights is an explicit matrix over the
 * flattened (row-major HWC) activations, so a convolution is just a dense layer with a known receptive field;
 * batch norm is folded into the layer before it (W·s, b·s + t) as LRP's canonization defines. The formulas are
 * written out from the papers (Bach et al. 2015; Montavon et al. 2017; Lapuschkin et al. 2019 for flat;
 * Springenberg et al. 2015; Sundararajan et al. 2017), with the stabiliser z + ε·sign(z), sign(0) = +1, and
 * ε = 1e-6 where a rule has none of its own (as Zennit).
 */

/** A linear map y_j = Σ_i x_i w[i][j] + b[j]; `connected[i][j]` says whether x_i is in y_j's receptive field. */
export interface RefLinear {
  type: 'linear';
  kind: 'conv' | 'dense';
  w: number[][];
  b: number[];
  connected: boolean[][];
}

export type RefLayer =
  | RefLinear
  | { type: 'relu' }
  /** out[j] = max over in[window[j]]. */
  | { type: 'maxpool'; windows: number[][] };

export type RefNet = RefLayer[];

/** A 'same'-padded, stride-1 convolution [kh, kw, cin, cout] over h×w×cin as a matrix. */
export function convMatrix(
  kernel: ArrayLike<number>,
  [kh, kw, cin, cout]: [number, number, number, number],
  bias: ArrayLike<number>,
  h: number,
  w: number,
): RefLinear {
  const nIn = h * w * cin;
  const nOut = h * w * cout;
  const m = Array.from({ length: nIn }, () => new Array<number>(nOut).fill(0));
  const conn = Array.from({ length: nIn }, () => new Array<boolean>(nOut).fill(false));
  const ph = Math.floor((kh - 1) / 2);
  const pw = Math.floor((kw - 1) / 2);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let o = 0; o < cout; o++) {
        const j = (y * w + x) * cout + o;
        for (let dy = 0; dy < kh; dy++)
          for (let dx = 0; dx < kw; dx++) {
            const yy = y + dy - ph;
            const xx = x + dx - pw;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            for (let c = 0; c < cin; c++) {
              const i = (yy * w + xx) * cin + c;
              m[i][j] = kernel[((dy * kw + dx) * cin + c) * cout + o];
              conn[i][j] = true;
            }
          }
      }
  const b = Array.from({ length: nOut }, (_, j) => bias[j % cout]);
  return { type: 'linear', kind: 'conv', w: m, b, connected: conn };
}

export function denseMatrix(
  kernel: ArrayLike<number>,
  nIn: number,
  nOut: number,
  bias: ArrayLike<number>,
): RefLinear {
  const w = Array.from({ length: nIn }, (_, i) =>
    Array.from({ length: nOut }, (_, j) => kernel[i * nOut + j]),
  );
  const connected = Array.from({ length: nIn }, () => new Array<boolean>(nOut).fill(true));
  return { type: 'linear', kind: 'dense', w, b: Array.from(bias), connected };
}

/** Folds inference batch norm (per output channel, channels last) into the linear layer before it. */
export function foldBn(
  l: RefLinear,
  channels: number,
  bn: {
    gamma: ArrayLike<number>;
    beta: ArrayLike<number>;
    mean: ArrayLike<number>;
    variance: ArrayLike<number>;
  },
  epsilon: number,
): RefLinear {
  const s = Array.from({ length: channels }, (_, c) => bn.gamma[c] / Math.sqrt(bn.variance[c] + epsilon));
  const t = Array.from({ length: channels }, (_, c) => bn.beta[c] - bn.mean[c] * s[c]);
  return {
    ...l,
    w: l.w.map((row) => row.map((v, j) => v * s[j % channels])),
    b: l.b.map((v, j) => v * s[j % channels] + t[j % channels]),
  };
}

/** 2×2 max pooling, stride 2, 'valid', over h×w×c. */
export function maxPool2(h: number, w: number, c: number): RefLayer {
  const windows: number[][] = [];
  for (let y = 0; y < Math.floor(h / 2); y++)
    for (let x = 0; x < Math.floor(w / 2); x++)
      for (let k = 0; k < c; k++) {
        const win: number[] = [];
        for (let dy = 0; dy < 2; dy++)
          for (let dx = 0; dx < 2; dx++) win.push(((2 * y + dy) * w + 2 * x + dx) * c + k);
        windows.push(win);
      }
  return { type: 'maxpool', windows };
}

function linear(l: RefLinear, x: number[]): number[] {
  return l.b.map((bj, j) => x.reduce((s, xi, i) => s + xi * l.w[i][j], bj));
}

/** The input of every layer and the output (last element). */
export function forward(net: RefNet, x: number[]): number[][] {
  const acts = [x];
  for (const l of net) {
    const a = acts[acts.length - 1];
    if (l.type === 'linear') acts.push(linear(l, a));
    else if (l.type === 'relu') acts.push(a.map((v) => Math.max(0, v)));
    else acts.push(l.windows.map((win) => Math.max(...win.map((i) => a[i]))));
  }
  return acts;
}

function argmaxOf(a: number[], win: number[]): number {
  let best = win[0];
  for (const i of win) if (a[i] > a[best]) best = i;
  return best;
}

export type ReluBackward = 'plain' | 'guided';

/** ∂ logit_c / ∂x by the chain rule (ReLU′(0) = 0), optionally with guided backprop's ReLU rule. */
export function gradient(net: RefNet, x: number[], c: number, relu: ReluBackward = 'plain'): number[] {
  const acts = forward(net, x);
  let g: number[] = acts[acts.length - 1].map((_, j) => (j === c ? 1 : 0));
  for (let k = net.length - 1; k >= 0; k--) {
    const l = net[k];
    const a = acts[k];
    if (l.type === 'linear') g = a.map((_, i) => l.w[i].reduce((s, wij, j) => s + wij * g[j], 0));
    else if (l.type === 'relu')
      g = a.map((v, i) => (v > 0 ? (relu === 'guided' ? Math.max(0, g[i]) : g[i]) : 0));
    else {
      const out = new Array<number>(a.length).fill(0);
      l.windows.forEach((win, j) => {
        out[argmaxOf(a, win)] += g[j];
      });
      g = out;
    }
  }
  return g;
}

const stab = (z: number, eps: number) => z + eps * (z >= 0 ? 1 : -1);
const pos = (v: number) => Math.max(0, v);
const neg = (v: number) => Math.min(0, v);
const TINY = 1e-6;

export type RefRule = 'epsilon' | 'zplus' | 'alpha2beta1' | 'zbox' | 'flat';

/** Relevance of the inputs of one linear layer from the relevance `r` of its outputs. */
export function ruleBackward(
  rule: RefRule,
  l: RefLinear,
  x: number[],
  r: number[],
  o: { epsilon: number; bounds: [number, number] },
): number[] {
  const nOut = r.length;
  /** R_i = Σ_j c(i, j) / stab(Σ_i c(i, j) + bias_j) · R_j */
  const share = (c: (i: number, j: number) => number, bias: (j: number) => number, eps: number) => {
    const den = Array.from({ length: nOut }, (_, j) =>
      stab(
        x.reduce((s, _v, i) => s + c(i, j), bias(j)),
        eps,
      ),
    );
    return x.map((_, i) => r.reduce((s, rj, j) => s + (c(i, j) / den[j]) * rj, 0));
  };
  const w = l.w;
  switch (rule) {
    case 'epsilon':
      return share(
        (i, j) => x[i] * w[i][j],
        (j) => l.b[j],
        o.epsilon,
      );
    case 'zplus':
      return share(
        (i, j) => pos(x[i]) * pos(w[i][j]) + neg(x[i]) * neg(w[i][j]),
        () => 0,
        TINY,
      );
    case 'alpha2beta1': {
      const plus = share(
        (i, j) => pos(x[i]) * pos(w[i][j]) + neg(x[i]) * neg(w[i][j]),
        (j) => pos(l.b[j]),
        TINY,
      );
      const minus = share(
        (i, j) => pos(x[i]) * neg(w[i][j]) + neg(x[i]) * pos(w[i][j]),
        (j) => neg(l.b[j]),
        TINY,
      );
      return plus.map((v, i) => 2 * v - minus[i]);
    }
    case 'zbox': {
      const [lo, hi] = o.bounds;
      return share(
        (i, j) => x[i] * w[i][j] - lo * pos(w[i][j]) - hi * neg(w[i][j]),
        () => 0,
        TINY,
      );
    }
    case 'flat':
      return share(
        (i, j) => (l.connected[i][j] ? 1 : 0),
        () => 0,
        TINY,
      );
  }
}

/** Which rule a linear layer gets: `first` is the first layer with weights of the net. */
export type RefComposite = (kind: 'conv' | 'dense', first: boolean) => RefRule;

export const REF_COMPOSITES: Record<string, RefComposite> = {
  epsilon: () => 'epsilon',
  epsilon_plus: (k) => (k === 'conv' ? 'zplus' : 'epsilon'),
  epsilon_plus_flat: (k, first) => (first ? 'flat' : k === 'conv' ? 'zplus' : 'epsilon'),
  epsilon_plus_box: (k, first) => (first ? 'zbox' : k === 'conv' ? 'zplus' : 'epsilon'),
  alpha2beta1: (k) => (k === 'conv' ? 'alpha2beta1' : 'epsilon'),
  zplus: () => 'zplus',
  deep_taylor: (_k, first) => (first ? 'zbox' : 'zplus'),
};

/**
 * LRP from R = logit_c · e_c down to the input: the composite's rule on linear layers, ReLU passes relevance
 * through, max pooling gives each window's relevance to its maximum. Returns the relevance entering every
 * layer's input (index k: input of layer k) and, last, the starting relevance.
 */
export function lrp(
  net: RefNet,
  x: number[],
  c: number,
  composite: RefComposite,
  o: { epsilon: number; bounds: [number, number] } = { epsilon: 1e-6, bounds: [0, 1] },
): number[][] {
  const acts = forward(net, x);
  const firstLinear = net.findIndex((l) => l.type === 'linear');
  const out = acts[acts.length - 1];
  let r = out.map((v, j) => (j === c ? v : 0));
  const rs: number[][] = [r];
  for (let k = net.length - 1; k >= 0; k--) {
    const l = net[k];
    const a = acts[k];
    if (l.type === 'linear') r = ruleBackward(composite(l.kind, k === firstLinear), l, a, r, o);
    else if (l.type === 'maxpool') {
      const next = new Array<number>(a.length).fill(0);
      l.windows.forEach((win, j) => {
        next[argmaxOf(a, win)] += r[j];
      });
      r = next;
    }
    rs.unshift(r);
  }
  return rs;
}

/** Integrated gradients with the trapezoid rule over `steps` intervals from baseline `b`. */
export function integratedGradients(
  net: RefNet,
  x: number[],
  c: number,
  b: number[],
  steps: number,
): number[] {
  const avg = new Array<number>(x.length).fill(0);
  for (let k = 0; k <= steps; k++) {
    const wk = (k === 0 || k === steps ? 0.5 : 1) / steps;
    const g = gradient(
      net,
      x.map((v, i) => b[i] + (k / steps) * (v - b[i])),
      c,
    );
    for (let i = 0; i < x.length; i++) avg[i] += wk * g[i];
  }
  return x.map((v, i) => (v - b[i]) * avg[i]);
}

/** Sums the channels of an HWC vector: one value per pixel. */
export function sumChannels(v: number[], channels: number): number[] {
  return Array.from({ length: v.length / channels }, (_, p) => {
    let s = 0;
    for (let c = 0; c < channels; c++) s += v[p * channels + c];
    return s;
  });
}

export function sum(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
}
