/** Data-parallel training and inference across worker threads (see trainer.ts). */
export {
  type Batch,
  defaultMicroBatch,
  defaultReplicas,
  type LossValues,
  ParallelTrainer,
  type ParallelTrainerOptions,
  type PartName,
  type StepConfig,
  splitBatch,
} from './trainer.js';
