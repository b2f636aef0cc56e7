/** Agreement and correlation statistics for reviews. Pure functions; the store-facing code is in ../summary.ts. */
export { type Correlation, spearmanTest } from './correlation.js';
export { fleissKappa, fleissKappaFromTable, type KappaResult, type TableKappaResult } from './fleiss.js';
export {
  ALPHA_LEVELS,
  type AlphaLevel,
  type AlphaResult,
  krippendorffAlpha,
  type RatingTable,
} from './krippendorff.js';
