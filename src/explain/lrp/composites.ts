/**
 * Composites (Zennit's term): which rule each linear layer gets, by layer type, with a special rule for the
 * first layer: the layers with weights that see the pixels, directly or through weight-free nodes only (a dense
 * layer behind a flatten is first; see graph/first.ts). The names follow Zennit's presets; `deep_taylor` is Montavon et
 * al.'s deep Taylor decomposition as Rieger et al. use it (z+ inside, z^B at the input).
 */
import { alphaBetaRule, epsilonRule, flatRule, type Rule, zBoxRule, zPlusRule } from './rules.js';

export type LinearKind = 'conv' | 'convTranspose' | 'dense';

export interface Composite {
  readonly description: string;
  rule(kind: LinearKind, first: boolean, epsilon: number): Rule;
}

const conv = (kind: LinearKind) => kind !== 'dense';

export const COMPOSITES = {
  epsilon: {
    description: 'ε on every layer (LRP-ε; with ε → 0 it is gradient × input on ReLU networks)',
    rule: (_kind, _first, eps) => epsilonRule(eps),
  },
  epsilon_plus: {
    description: 'ε on dense layers, z+ on convolutions',
    rule: (kind, _first, eps) => (conv(kind) ? zPlusRule : epsilonRule(eps)),
  },
  epsilon_plus_flat: {
    description: 'epsilon_plus with the flat rule on the first layer',
    rule: (kind, first, eps) => (first ? flatRule : conv(kind) ? zPlusRule : epsilonRule(eps)),
  },
  epsilon_plus_box: {
    description: 'epsilon_plus with the z^B box rule on the first layer',
    rule: (kind, first, eps) => (first ? zBoxRule : conv(kind) ? zPlusRule : epsilonRule(eps)),
  },
  alpha2beta1: {
    description: 'ε on dense layers, α2β1 on convolutions',
    rule: (kind, _first, eps) => (conv(kind) ? alphaBetaRule(2, 1) : epsilonRule(eps)),
  },
  zplus: {
    description: 'z+ on every layer (relevance keeps the sign of the class score)',
    rule: () => zPlusRule,
  },
  deep_taylor: {
    description: 'deep Taylor decomposition: z+ on every layer, z^B on the first (Montavon et al. 2017)',
    rule: (_kind, first) => (first ? zBoxRule : zPlusRule),
  },
} satisfies Record<string, Composite>;

export type CompositeName = keyof typeof COMPOSITES;
export const COMPOSITE_NAMES = Object.keys(COMPOSITES) as CompositeName[];
