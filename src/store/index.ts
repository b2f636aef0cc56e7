/** The product's only door to its database: typed functions, no SQL outside src/store/. */

export { type Account, type AccountsApi, accountName, isRole, ROLES, type Role } from './accounts.js';
export type { Dataset, DatasetInput, DatasetKind, DatasetPatch, DatasetSummary } from './datasets.js';
export type { EngineKind, MigrationDb } from './engine.js';
export type {
  Explanation,
  ExplanationInput,
  ExplanationKey,
  ExplanationMeta,
  MetricInput,
  MetricRecord,
} from './explanations.js';
export {
  GALLERY_SORTS,
  type GalleryPage,
  type GalleryQuery,
  type GalleryRow,
  type GallerySort,
  HIGH_RATING,
  type ImageRating,
  LOW_RATING,
  RATING_FILTERS,
  type RatingFilter,
} from './gallery.js';
export type { ImageInput, ImageRecord, ListImagesOptions, UpsertStatus } from './images.js';
export type { Job, JobProgressRecord, JobStatus, JobsApi } from './jobs.js';
export { type Json, type JsonObject, type Metrics, paramsHash } from './json.js';
export { MASK_KINDS, type MaskContent, type MaskInput, type MaskKind, type MaskRecord } from './masks.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export { type ListObjectsOptions, StaleWriteError, type StoredObject } from './objects.js';
export { assertStorePath, defaultStorePath, type StorePathContext } from './paths.js';
export { isPostgresUrl, MISSING_PG_NATIVE } from './postgres.js';
export type { PredictionInput, PredictionRecord, PredictionsApi } from './predictions.js';
export type {
  Rater,
  Rating,
  RatingInput,
  RatingRestoreInput,
  RatingRevision,
  RatingTarget,
  RatingValues,
  ReviewItem,
  ReviewItemInput,
  ReviewSession,
  Score,
  Side,
} from './ratings.js';
export type {
  Checkpoint,
  CheckpointInput,
  EpochInput,
  EpochRecord,
  Run,
  RunInput,
  RunRestoreInput,
  RunStatus,
} from './runs.js';
export { GROUND_TRUTH, type Source } from './source.js';
export { SPLITS, type Split, type SplitAssignment } from './splits.js';
export {
  APPLICATION_ID,
  type OpenStoreOptions,
  openStore,
  type Store,
  type StoreDiagnostics,
  storeFilesDir,
} from './store.js';
