/**
 * Explanations as the views need them: the `explain` answer plus its float32 map, decoded once and kept in a
 * small cache (switching overlay settings must not re-fetch; the compare grid asks for the same maps again).
 */
import type { ExplainPartialEvent, ExplanationView } from '../../../src/api/contract';
import { api } from './api';
import { fetchMap } from './dom';
import { decodeFloat32 } from './overlay/colourise';

export interface LoadedMap {
  view: ExplanationView;
  data: Float32Array;
  /** Set on a coarse map shown while the exact one is computed: what it is (e.g. "… 4 of 50 intervals"). */
  partial?: string;
}

/** Base64 float32 little-endian → numbers (the partial event's map). */
export function decodeBase64Float32(b64: string, width: number, height: number): Float32Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return decodeFloat32(bytes.buffer, width, height, 'coarse map');
}

/** The coarse map of a partial event as the views draw maps (no url: it is not stored). */
export function partialMap(e: ExplainPartialEvent): LoadedMap {
  return {
    view: {
      method: e.method,
      classIndex: e.classIndex,
      width: e.width,
      height: e.height,
      min: e.min,
      max: e.max,
      url: '',
      cached: false,
    },
    data: decodeBase64Float32(e.data, e.width, e.height),
    partial: e.note,
  };
}

const MAX = 48;
const cache = new Map<string, Promise<LoadedMap>>();

export function loadMap(
  runId: number,
  imageId: number,
  method: string,
  classIndex?: number,
  /** Called with coarse maps (many-pass methods) while the exact one is computed; never after it arrived. */
  onPartial?: (m: LoadedMap) => void,
): Promise<LoadedMap> {
  const key = `${runId}/${imageId}/${method}/${classIndex ?? 'pred'}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      let final = false;
      const off = onPartial
        ? api.onEvent((e) => {
            if (final || e.type !== 'explain.partial') return;
            if (e.runId !== runId || e.imageId !== imageId || e.method !== method) return;
            if (classIndex !== undefined && e.classIndex !== classIndex) return;
            onPartial(partialMap(e));
          })
        : () => {};
      try {
        // The coarse map is an event: ask only once it can arrive (bounded, so a broken stream costs 3 s, not the map).
        if (onPartial && api.eventsOpen) {
          await Promise.race([api.eventsOpen(), new Promise((r) => setTimeout(r, 3000))]);
        }
        const view = await api.call('explain', { runId, imageId, method, classIndex });
        const data = decodeFloat32(await fetchMap(view.url), view.width, view.height, `${method} map`);
        return { view, data };
      } finally {
        final = true;
        off();
      }
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key)); // a failure is not remembered: the user may fix the cause and retry
    while (cache.size > MAX) cache.delete(cache.keys().next().value as string);
  }
  return p;
}
