/**
 * What a training run tells the outside world, in process (the `onEvent` callback) or across the worker boundary
 * (`postMessage`, so everything here is structured-clone safe: plain data only).
 */
import type { Metrics } from '../store/index.js';
import type { PhaseName, TrainConfig } from './config.js';
import type { MapProblem } from './diagnostics.js';

export interface PhaseSummary {
  phase: PhaseName;
  /** Epochs recorded (including those copied from the run this one resumed). */
  epochs: number;
  /** Epochs the phase was configured for. */
  plannedEpochs: number;
  stoppedBy: 'patience' | 'dead-explainer' | null;
  best: { epoch: number; valLoss: number; valAcc: number } | null;
  final: { epoch: number; loss: number; acc: number; valLoss: number; valAcc: number } | null;
  seconds: number;
  /** Training images per second over the phase (the optimisation steps only). */
  imagesPerSecond: number | null;
}

export interface TrainResult {
  runId: number;
  status: 'done' | 'cancelled';
  datasetId: number;
  model: string;
  engine: string;
  device: string | null;
  folder: string;
  resumedFrom: number | null;
  /** The resolved config the run trained with (also in the store). */
  config: TrainConfig;
  /** The dataset's classes: the model's output order. */
  classes: string[];
  /** The model the run ends with: the best checkpoint of its last phase that has one (null if none). */
  checkpoint: string | null;
  trainImages: number;
  valImages: number;
  phases: PhaseSummary[];
  /** Dead-explainer warnings, and each image left out of the data because it could not be read. */
  warnings: string[];
  /** Wall time of this process's work on the run. */
  seconds: number;
}

export type TrainEvent =
  | {
      type: 'start';
      runId: number;
      datasetId: number;
      model: string;
      engine: string;
      device: string | null;
      folder: string;
      resumedFrom: number | null;
      /** The checkpoint of another run the first phase starts from (fine-tuning); null: fresh weights. */
      initFrom: { runId: number; phase: string; epoch: number; path: string } | null;
      phases: { phase: PhaseName; epochs: number }[];
    }
  /** The run's stored status changed to `status` (its data are loaded and the first phase begins). */
  | { type: 'status'; runId: number; status: 'running' }
  | { type: 'load'; split: 'train' | 'val'; done: number; total: number }
  /** An image of the split could not be read and was left out (the run goes on; too many fail the load). */
  | { type: 'skipped'; split: 'train' | 'val'; relPath: string; message: string }
  | { type: 'phase'; phase: PhaseName; index: number; count: number; epochs: number; startEpoch: number }
  | { type: 'step'; phase: PhaseName; epoch: number; step: number; steps: number }
  | {
      type: 'epoch';
      phase: PhaseName;
      epoch: number;
      epochs: number;
      metrics: Metrics;
      seconds: number;
      isBest: boolean;
      checkpoint: string | null;
    }
  | {
      type: 'warning';
      phase: PhaseName;
      epoch: number;
      /** What is wrong with the map (see diagnostics.ts). */
      code: MapProblem;
      /** What happened, in plain words. */
      message: string;
      /** What to change. */
      advice: string;
    }
  | { type: 'done'; result: TrainResult }
  | { type: 'error'; runId: number | null; message: string };

export type TrainEventListener = (event: TrainEvent) => void;
