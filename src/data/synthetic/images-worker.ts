/**
 * Worker thread of the generator (started by `generateDataset`): writes the image ranges the main thread sends.
 * workerData: { dir, options (resolved), positive (Uint8Array, 1 = positive) }.
 * Messages in: { from, to }. Out: { from, to, classes } or { from, to, error } (the message names the image).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { writeImages } from './images.js';
import { parseShapes, type ResolvedOptions } from './options.js';

export interface ImagesWorkerData {
  dir: string;
  options: ResolvedOptions;
  positive: Uint8Array;
}
export interface ImagesRequest {
  from: number;
  to: number;
}
export type ImagesReply = ImagesRequest & ({ classes: string[][] } | { error: string });

const { dir, options, positive } = workerData as ImagesWorkerData;
const shapes = parseShapes(options);
const port = parentPort!;
port.on('message', ({ from, to }: ImagesRequest) => {
  let reply: ImagesReply;
  try {
    reply = { from, to, classes: writeImages(dir, options, shapes, positive, from, to) };
  } catch (e) {
    reply = { from, to, error: (e as Error).message };
  }
  port.postMessage(reply);
});
