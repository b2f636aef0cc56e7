/**
 * The workbench's UI state shared across screens (one reactive object, so the image view, the compare grid and
 * the gallery agree on the dataset, the filter, the run and the overlay settings).
 */
import type { DatasetView, JobView, MethodInfo, RunView, XwbEvent } from '../../../src/api/contract';
import type { SequentialColormap } from './colormap';
import type { GalleryFilter } from './gallery';
import type { ScaleChoice } from './overlay/normalise';
import type { View } from './viewport';

export type Screen = 'datasets' | 'gallery' | 'image' | 'compare' | 'training' | 'jobs' | 'review';

/** The gallery's filter and sort (lib/gallery.ts), shared with the image view and the compare grid. */
export type { GalleryFilter } from './gallery';

export interface OverlaySettings {
  on: boolean;
  method: string;
  /** null: explain the predicted class. */
  classIndex: number | null;
  /** The table of unsigned maps (signed ones are always drawn diverging). */
  colormap: SequentialColormap;
  normalisation: ScaleChoice;
  opacity: number;
  thresholdOn: boolean;
  threshold: number;
  contour: boolean;
  /** The paper's three panels (original, explanation, thresholded) instead of one overlaid image. */
  panels: boolean;
}

export const ui = $state({
  screen: 'datasets' as Screen,
  datasets: [] as DatasetView[],
  datasetId: null as number | null,
  filter: {} as GalleryFilter,
  /** Total of the filtered list (from the gallery's last page). */
  total: 0,
  imageIndex: 0,
  galleryScroll: 0,
  runs: [] as RunView[],
  runId: null as number | null,
  methods: [] as MethodInfo[],
  /** Why explanations are unavailable (null when they are). */
  explainUnavailable: 'checking…' as string | null,
  overlay: {
    on: true,
    method: '',
    classIndex: null,
    colormap: 'viridis',
    normalisation: 'auto',
    opacity: 0.6,
    thresholdOn: true,
    threshold: 0.75,
    contour: false,
    panels: false,
  } as OverlaySettings,
  boxes: true,
  brightness: 1,
  contrast: 1,
  /** Compare grid: linked zoom and pan of all cells. */
  compareView: { scale: 1, tx: 0, ty: 0 } as View,
  compareMethods: [] as string[],
  /** True once the user picked methods: the defaults no longer follow the run. */
  compareChosen: false,
  /** Compare grid: one scale per method row (default: units differ between methods), or one for the grid. */
  compareScale: 'method' as 'method' | 'shared',
  compareImages: 3,
  /** The latest train.progress per run (from the event stream). */
  progress: {} as Record<number, TrainProgress>,
  /** Bumped per run whenever an epoch lands, so open charts re-read runs.get. */
  epochTicks: {} as Record<number, number>,
  /** The map warnings a run reported while this window watched (train.warning), newest last. */
  trainWarnings: {} as Record<number, TrainWarning[]>,
  /** Jobs (export, explain, eval), newest first: read from the server on load, then kept by job.update events. */
  jobs: [] as JobView[],
  /** The viewer's run picker also offers cancelled runs. */
  showCancelledRuns: false,
});

export type TrainProgress = Extract<XwbEvent, { type: 'train.progress' }>;
export type TrainWarning = Extract<XwbEvent, { type: 'train.warning' }>;

export function currentDataset(): DatasetView | undefined {
  return ui.datasets.find((d) => d.id === ui.datasetId);
}
