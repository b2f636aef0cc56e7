/**
 * Explanations as the views need them: the `explain` answer plus its float32 map, decoded once and kept in a
 * small cache (switching overlay settings must not re-fetch; the compare grid asks for the same maps again).
 */
import type { ExplanationView } from '../../../src/api/contract';
import { api } from './api';
import { fetchMap } from './dom';
import { decodeFloat32 } from './overlay/colourise';

export interface LoadedMap {
  view: ExplanationView;
  data: Float32Array;
}

const MAX = 48;
const cache = new Map<string, Promise<LoadedMap>>();

export function loadMap(
  runId: number,
  imageId: number,
  method: string,
  classIndex?: number,
): Promise<LoadedMap> {
  const key = `${runId}/${imageId}/${method}/${classIndex ?? 'pred'}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const view = await api.call('explain', { runId, imageId, method, classIndex });
      const data = decodeFloat32(await fetchMap(view.url), view.width, view.height, `${method} map`);
      return { view, data };
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key)); // a failure is not remembered: the user may fix the cause and retry
    while (cache.size > MAX) cache.delete(cache.keys().next().value as string);
  }
  return p;
}
