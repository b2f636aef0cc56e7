/**
 * Crash cycles against the real web server (issue 11, durability): `xwb serve` runs as its own process on a real
 * store; two client lanes write to it back to back over HTTP with the launch token (one rates review items, with
 * should-highlight masks; one adds, moves and deletes annotation boxes, keyed by client keys as the renderer's save
 * queue does, and now and then re-sends an add that was already acknowledged, as after a lost answer). At a seeded
 * random moment the server is killed with SIGKILL; the store is then opened in this process and every
 * acknowledged write is looked for (a write in flight at the kill may or may not be there); the server restarts,
 * the unacknowledged writes are re-sent, and the next cycle begins. At the end the store must hold exactly the
 * acknowledged state, no client key twice, and pass `PRAGMA integrity_check`.
 *
 * Used by test/server/durability.test.ts (a short slice) and bench/durability.ts (the full run).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { encodeGreyPng } from '../../src/review/png.js';
import { createReviewSession } from '../../src/review/session.js';
import { openStore, type Score, type Store } from '../../src/store/index.js';
import { Random } from '../../src/util/random.js';
import { type Server, startXwbServe, stopServer } from '../e2e/harness.js';
import { raw } from './http-client.js';

export interface CrashCycleOptions {
  cycles: number;
  seed: number;
  /** Longest wait between the server being up and the SIGKILL; the wait is drawn uniformly below it. */
  maxKillDelayMs?: number;
  /** Asked before each cycle: true ends the run early (the final restart, re-send and checks still happen). */
  stop?: () => boolean;
  log?: (line: string) => void;
}

export interface CrashCycleReport {
  cycles: number;
  /** Writes the server answered 200 to, by kind (re-sent adds of an acknowledged box are counted as `resentAdds`). */
  acknowledged: {
    ratings: number;
    masks: number;
    adds: number;
    moves: number;
    deletes: number;
    total: number;
  };
  /** Writes in flight at a kill, re-sent after the restart. */
  resentAfterKill: number;
  /** Adds of an already acknowledged box sent again (a lost answer): each must return the first box. */
  resentAdds: number;
  /** Acknowledged writes missing (or changed) when the store was opened after a kill, or at the end. */
  lost: number;
  /** Boxes stored twice for one client key, or re-sent adds answered with another box. */
  duplicates: number;
  /** What went wrong, for the failure message (at most 20 lines). */
  problems: string[];
  /** `PRAGMA integrity_check` at the end. */
  integrity: string;
  ms: number;
}

type RateValues = {
  correctness: Score;
  completeness: Score;
  compactness: Score;
  comment: string;
  wrongFlag: boolean;
};
interface BoxCoords {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
type Op =
  | { kind: 'rate'; itemId: number; values: RateValues; mask?: { imageId: number; png: Buffer } }
  | { kind: 'add'; key: string; imageId: number; box: BoxCoords }
  | { kind: 'readd'; key: string }
  | { kind: 'move'; key: string; box: BoxCoords }
  | { kind: 'delete'; key: string };

interface BoxState {
  id: number;
  imageId: number;
  box: BoxCoords;
  deleted: boolean;
}

/** The acknowledged state: what the server said it stored. */
interface Model {
  ratings: Map<number, RateValues>;
  masks: Map<number, Buffer>;
  boxes: Map<string, BoxState>;
}

export class ServerDown extends Error {}

/** Starting `xwb serve` takes ~3 s on an idle 2-core machine; on a loaded one (and under nice) far longer. */
const START_TIMEOUT_MS = 180_000;

export interface Fixture {
  dir: string;
  db: string;
  raterId: number;
  items: { id: number; imageId: number }[];
  images: { id: number; width: number; height: number }[];
}

/** A real store: a generated dataset imported, a run with stored maps, and a blinded review session for Ana. */
export async function makeFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'xwb-durability-'));
  const db = join(dir, 'xwb.db');
  await generateDataset(join(dir, 'cue'), {
    images: 6,
    positives: 3,
    width: 32,
    height: 24,
    shapesPerImage: 2,
    colourCue: true,
    seed: 5,
  });
  const store = openStore(db);
  try {
    const { dataset } = await importDataset(store, join(dir, 'cue'), { name: 'cue' });
    const images = store.images.list(dataset.id, { offset: 0, limit: 100 });
    const run = store.runs.create({ datasetId: dataset.id, model: 'expclass', config: {}, engine: 'cpu' });
    const rng = new Random('durability-maps');
    const methods = ['explainer', 'gradient'];
    for (const im of images) {
      for (const method of methods) {
        const data = Buffer.alloc(16 * 4);
        for (let i = 0; i < 16; i++) data.writeFloatLE(rng.normal(), i * 4);
        store.explanations.put({
          runId: run.id,
          imageId: im.id,
          classIndex: 1,
          method,
          params: {},
          width: 4,
          height: 4,
          encoding: 'f32le',
          data,
        });
      }
    }
    const s = createReviewSession(store, {
      name: 'durability',
      runIds: [run.id],
      methods,
      imageIds: images.map((im) => im.id),
      raters: ['Ana'],
      seed: 1,
    });
    const raterId = s.raters[0].id;
    const items = store.ratings.items(s.session.id, raterId).map((it) => ({
      id: it.id,
      imageId: store.explanations.getMeta(it.explanationId)!.imageId,
    }));
    return {
      dir,
      db,
      raterId,
      items,
      images: images.map((im) => ({ id: im.id, width: im.width, height: im.height })),
    };
  } finally {
    store.close();
  }
}

export async function call(server: Server, token: string, method: string, body: unknown): Promise<unknown> {
  let res: Awaited<ReturnType<typeof raw>>;
  try {
    res = await raw(server.port, {
      method: 'POST',
      path: `/api/${method}`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ServerDown(method);
  }
  // A killed server can also cut an answer short: an incomplete body is no acknowledgement.
  if (res.status === 0) throw new ServerDown(method);
  if (res.status !== 200) {
    throw new Error(`${method} answered ${res.status}: ${res.text.slice(0, 300)}`);
  }
  try {
    return res.json();
  } catch {
    throw new ServerDown(method);
  }
}

const sameValues = (a: RateValues, b: RateValues) =>
  a.correctness === b.correctness &&
  a.completeness === b.completeness &&
  a.compactness === b.compactness &&
  a.comment === b.comment &&
  a.wrongFlag === b.wrongFlag;
const sameBox = (a: BoxCoords, b: BoxCoords) =>
  a.x0 === b.x0 && a.y0 === b.y0 && a.x1 === b.x1 && a.y1 === b.y1;

export async function runCrashCycles(opts: CrashCycleOptions): Promise<CrashCycleReport> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const rng = new Random(`durability-${opts.seed}`);
  const f = await makeFixture();
  const rendererDir = join(f.dir, 'no-renderer'); // the API needs no renderer
  mkdirSync(rendererDir);
  const model: Model = { ratings: new Map(), masks: new Map(), boxes: new Map() };
  const report: CrashCycleReport = {
    cycles: 0,
    acknowledged: { ratings: 0, masks: 0, adds: 0, moves: 0, deletes: 0, total: 0 },
    resentAfterKill: 0,
    resentAdds: 0,
    lost: 0,
    duplicates: 0,
    problems: [],
    integrity: '',
    ms: 0,
  };
  const problem = (p: string) => {
    if (report.problems.length < 20) report.problems.push(p);
  };
  let nextKey = 1;
  let nextComment = 1;
  let annotator = 0;

  const randomBox = (w: number, h: number): BoxCoords => {
    const x0 = rng.int(0, w - 4);
    const y0 = rng.int(0, h - 4);
    return { x0, y0, x1: rng.int(x0 + 2, w), y1: rng.int(y0 + 2, h) };
  };
  const nextRate = (): Op => {
    const item = f.items[rng.int(0, f.items.length - 1)];
    const score = () => (rng.bool(0.1) ? null : (rng.int(1, 5) as Score));
    const values: RateValues = {
      correctness: score(),
      completeness: score(),
      compactness: score(),
      comment: `c${nextComment++}`,
      wrongFlag: rng.bool(0.2),
    };
    if (!rng.bool(0.5)) return { kind: 'rate', itemId: item.id, values };
    const im = f.images.find((x) => x.id === item.imageId)!;
    const b = randomBox(im.width, im.height);
    const grey = new Uint8Array(im.width * im.height);
    for (let y = b.y0; y < b.y1; y++) for (let x = b.x0; x < b.x1; x++) grey[y * im.width + x] = 255;
    return {
      kind: 'rate',
      itemId: item.id,
      values,
      mask: { imageId: im.id, png: encodeGreyPng(grey, im.width, im.height) },
    };
  };
  const nextAnnotation = (): Op => {
    const keys = [...model.boxes.keys()];
    const live = keys.filter((k) => !model.boxes.get(k)!.deleted);
    if (keys.length > 0 && rng.bool(0.15)) return { kind: 'readd', key: keys[rng.int(0, keys.length - 1)] };
    const r = rng.next();
    if (live.length < 2 || r < 0.4) {
      const im = f.images[rng.int(0, f.images.length - 1)];
      return { kind: 'add', key: `k${nextKey++}`, imageId: im.id, box: randomBox(im.width, im.height) };
    }
    const key = live[rng.int(0, live.length - 1)];
    if (r < 0.75) {
      const im = f.images.find((x) => x.id === model.boxes.get(key)!.imageId)!;
      return { kind: 'move', key, box: randomBox(im.width, im.height) };
    }
    return { kind: 'delete', key };
  };

  /** Sends one op; on a 200 the model takes its effect. */
  const send = async (server: Server, token: string, op: Op): Promise<void> => {
    const ack = report.acknowledged;
    if (op.kind === 'rate') {
      await call(server, token, 'review.rate', {
        itemId: op.itemId,
        ...op.values,
        ...(op.mask ? { shouldHighlight: op.mask.png.toString('base64') } : {}),
      });
      model.ratings.set(op.itemId, op.values);
      ack.ratings++;
      if (op.mask) {
        model.masks.set(op.mask.imageId, op.mask.png);
        ack.masks++;
      }
    } else if (op.kind === 'add' || op.kind === 'readd') {
      const known = model.boxes.get(op.key);
      const imageId = op.kind === 'add' ? op.imageId : known!.imageId;
      const box = op.kind === 'add' ? op.box : known!.box;
      const v = (await call(server, token, 'annotations.add', {
        imageId,
        annotator,
        box,
        className: 'triangle',
        clientKey: op.key,
      })) as { id: number };
      if (op.kind === 'readd') {
        report.resentAdds++;
        if (v.id !== known!.id) {
          report.duplicates++;
          problem(`re-sent add ${op.key} answered with box ${v.id}, not ${known!.id}`);
        }
      } else {
        model.boxes.set(op.key, { id: v.id, imageId, box, deleted: false });
        ack.adds++;
      }
    } else if (op.kind === 'move') {
      const b = model.boxes.get(op.key)!;
      await call(server, token, 'annotations.update', { id: b.id, box: op.box, className: 'triangle' });
      b.box = op.box;
      ack.moves++;
    } else {
      const b = model.boxes.get(op.key)!;
      await call(server, token, 'annotations.delete', { id: b.id });
      b.deleted = true;
      ack.deletes++;
    }
    if (op.kind !== 'readd') ack.total++;
  };

  /**
   * One lane: its pending op (unacknowledged at the last kill) first, then fresh ones, until the server goes down.
   * Returns the op in flight at the kill, if any.
   */
  const lane = async (server: Server, token: string, first: Op | undefined, next: () => Op) => {
    let op = first;
    for (;;) {
      op ??= next();
      try {
        await send(server, token, op);
      } catch (e) {
        if (e instanceof ServerDown) return op;
        throw e;
      }
      op = undefined;
    }
  };

  /** The store after a kill (or at the end): every acknowledged write there, pending ones either way. */
  const verify = (pending: Op[], where: string) => {
    const store: Store = openStore(f.db);
    const db = new Database(f.db);
    try {
      const ratings = new Map(
        store.ratings.list({ raterId: f.raterId }).map((r) => [r.reviewItemId, r] as const),
      );
      for (const [itemId, want] of model.ratings) {
        const r = ratings.get(itemId);
        const got = r && {
          correctness: r.correctness,
          completeness: r.completeness,
          compactness: r.compactness,
          comment: r.comment ?? '',
          wrongFlag: r.wrongFlag,
        };
        const alt = pending.find((p) => p.kind === 'rate' && p.itemId === itemId) as
          | Extract<Op, { kind: 'rate' }>
          | undefined;
        if (!got || !(sameValues(got, want) || (alt && sameValues(got, alt.values)))) {
          report.lost++;
          problem(
            `${where}: rating of item ${itemId} is ${JSON.stringify(got)}, acknowledged ${JSON.stringify(want)}`,
          );
        }
      }
      for (const [imageId, want] of model.masks) {
        const m = store.masks.get(imageId, 'should-highlight', { kind: 'annotator', annotatorId: f.raterId });
        const got = m && 'png' in m.content ? m.content.png : undefined;
        const alt = pending.find((p) => p.kind === 'rate' && p.mask?.imageId === imageId) as
          | Extract<Op, { kind: 'rate' }>
          | undefined;
        if (!got || !(got.equals(want) || (alt?.mask && got.equals(alt.mask.png)))) {
          report.lost++;
          problem(`${where}: should-highlight mask of image ${imageId} is not the acknowledged one`);
        }
      }
      const rows = db
        .prepare('SELECT id, client_key AS key FROM objects WHERE annotator_id IS NOT NULL')
        .all() as { id: number; key: string | null }[];
      const perKey = new Map<string, number[]>();
      for (const r of rows) {
        if (r.key === null) {
          problem(`${where}: box ${r.id} has no client key (every add sent one)`);
          continue;
        }
        perKey.set(r.key, [...(perKey.get(r.key) ?? []), r.id]);
      }
      for (const [key, ids] of perKey) {
        if (ids.length > 1) {
          report.duplicates += ids.length - 1;
          problem(`${where}: client key ${key} is stored ${ids.length} times (boxes ${ids.join(', ')})`);
        }
        if (!model.boxes.has(key) && !pending.some((p) => p.kind === 'add' && p.key === key)) {
          problem(`${where}: box ${ids[0]} (key ${key}) was never sent`);
          report.lost++;
        }
      }
      for (const [key, want] of model.boxes) {
        const o = store.objects.get(want.id);
        const alt = pending.find((p) => (p.kind === 'move' || p.kind === 'delete') && p.key === key);
        const gotBox = o?.object.box;
        const gotDeleted = o ? o.deletedAt !== null : undefined;
        const ok =
          o !== undefined &&
          gotBox !== undefined &&
          ((sameBox(gotBox, want.box) && gotDeleted === want.deleted) ||
            (alt?.kind === 'move' && sameBox(gotBox, alt.box) && !gotDeleted) ||
            (alt?.kind === 'delete' && sameBox(gotBox, want.box) && gotDeleted === true));
        if (!ok || (perKey.get(key) ?? []).length === 0) {
          report.lost++;
          problem(
            `${where}: box ${want.id} (key ${key}) is ${JSON.stringify(gotBox)} deleted=${gotDeleted}, ` +
              `acknowledged ${JSON.stringify(want.box)} deleted=${want.deleted}`,
          );
        }
      }
    } finally {
      db.close();
      store.close();
    }
  };

  let server: Server | undefined;
  let pending: (Op | undefined)[] = [undefined, undefined];
  try {
    for (let cycle = 1; cycle <= opts.cycles && !opts.stop?.(); cycle++) {
      server = await startXwbServe(f.db, rendererDir, 0, START_TIMEOUT_MS);
      const token = new URL(server.launchUrl).searchParams.get('token') ?? '';
      if (annotator === 0) {
        annotator = ((await call(server, token, 'annotator.set', { name: 'Ana' })) as { id: number }).id;
      }
      report.resentAfterKill += pending.filter((p) => p !== undefined).length;
      const lanes = [
        lane(server, token, pending[0], nextRate),
        lane(server, token, pending[1], nextAnnotation),
      ];
      const delay = rng.uniform(0, opts.maxKillDelayMs ?? 600);
      await new Promise((r) => setTimeout(r, delay));
      await stopServer(server.child, 'SIGKILL');
      pending = await Promise.all(lanes);
      report.cycles = cycle;
      verify(
        pending.filter((p): p is Op => p !== undefined),
        `after kill ${cycle}`,
      );
      log(
        `cycle ${cycle}: killed after ${delay.toFixed(0)} ms, ${report.acknowledged.total} acknowledged, ` +
          `lost ${report.lost}, duplicates ${report.duplicates}`,
      );
    }
    // The last restart: the writes still unacknowledged go through, then a clean stop.
    server = await startXwbServe(f.db, rendererDir, 0, START_TIMEOUT_MS);
    const token = new URL(server.launchUrl).searchParams.get('token') ?? '';
    for (const op of pending) if (op) await send(server, token, op);
    report.resentAfterKill += pending.filter((p) => p !== undefined).length;
    await stopServer(server.child, 'SIGTERM');
    verify([], 'at the end');
    const db = new Database(f.db, { readonly: true });
    try {
      report.integrity = (db.pragma('integrity_check') as { integrity_check: string }[])
        .map((r) => r.integrity_check)
        .join('; ');
    } finally {
      db.close();
    }
  } finally {
    if (server) await stopServer(server.child, 'SIGKILL');
    rmSync(f.dir, { recursive: true, force: true });
  }
  report.ms = Date.now() - t0;
  return report;
}
