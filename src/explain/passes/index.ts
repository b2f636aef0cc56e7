/** The many-pass methods' model passes: on this thread (LocalPasses) or across worker replicas (PassPool). */
export { chunkedInputGradient, graphInputGradient, LocalPasses } from './local.js';
export { PassPool, type PassPoolOptions, shardSizes } from './pool.js';
export type { Passes } from './types.js';
