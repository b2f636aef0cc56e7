/**
 * Reader thread of the importer (started by `readAllImages`, read-pool.ts): reads the slices of images the main
 * thread sends. workerData: ReaderData. Messages in: ReadRequest. Out: ReadReply (one per request, in any order).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { mapLimit } from '../../util/pool.js';
import { READS_IN_FLIGHT, type ReadJob, type ReadOutcome, readImageFiles } from './read.js';

export interface ReaderData {
  root: string;
  maxPixels?: number;
}
export interface ReadRequest {
  /** Index of the slice's first image in the import's list. */
  from: number;
  jobs: ReadJob[];
}
export interface ReadReply {
  from: number;
  outcomes: ReadOutcome[];
}

const { root, maxPixels } = workerData as ReaderData;
const port = parentPort!;
port.on('message', async ({ from, jobs }: ReadRequest) => {
  // readImageFiles reports every problem as an outcome; anything thrown here ends the thread, and the main
  // thread then reads this slice itself.
  const outcomes = await mapLimit(jobs, READS_IN_FLIGHT, (job) => readImageFiles(root, job, maxPixels));
  const reply: ReadReply = { from, outcomes };
  port.postMessage(reply);
});
