/** The synthetic dataset generator: shapes among distractors, written as a PASCAL VOC devkit folder. */
export {
  classNames,
  drawImage,
  GENERATOR_FILE,
  GENERATOR_VERSION,
  type GenerateSummary,
  generateDataset,
  imageId,
  type ProgressFn,
} from './generate.js';
export { LayoutError, type LayoutItem, layoutImage } from './layout.js';
export {
  defaultShapeCount,
  type GeneratorOptions,
  MIN_DEFAULT_RADIUS_PX,
  PAPER_OPTIONS,
  parseShapes,
  type ResolvedOptions,
  type Rgb,
  resolveOptions,
  type ShapeSet,
  type SplitFractions,
} from './options.js';
export { type DrawStyle, rasteriseShape, type ShapeRaster } from './raster.js';
export { type RenderedImage, renderImage } from './render.js';
export { NAMED_SHAPES, type PlacedShape, parseShape, type Shape } from './shapes.js';
export { apportion, choosePositives, type PartName, stratifiedSizes, stratifiedSplit } from './split.js';
