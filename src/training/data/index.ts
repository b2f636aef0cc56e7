/** The training data pipeline: a split of a dataset in the store → decoded, cached images → tensor batches. */
export {
  type Batch,
  type BatchOptions,
  batchCount,
  batches,
  type EpochPlan,
  epochPlan,
  forEachBatch,
} from './batches.js';
export {
  DECODER_VERSION,
  DEFAULT_CACHE_BYTES,
  DecodeCache,
  type DecodeCacheOptions,
  type DecodeCacheStats,
  type DecodeVariant,
  variantTag,
} from './cache.js';
export {
  DataLoadError,
  type DecodeRequest,
  decodeImage,
  type ImageDecoder,
  RESIZE_KERNELS,
  type ResizeKernel,
} from './decode.js';
export {
  allowedSkips,
  DEFAULT_MAX_SKIPPED_FRACTION,
  DEFAULT_SET_BYTES,
  type ImageSetData,
  type LoadedImage,
  type LoadOptions,
  labelIndices,
  listSplit,
  loadSplit,
  type SkippedImage,
} from './load.js';
export { MASK_SOURCES, type MaskSource, VOC_CLASSES, vocColour } from './masks.js';
export { type Placement, placeImage, RESIZE_MODES, type ResizeMode } from './placement.js';
export { rasteriseBoxes, resampleMask } from './raster.js';
export { classWeights, classWeightsOf } from './weights.js';
