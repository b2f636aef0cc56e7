/**
 * Concurrent reviewers against the real team server on PostgreSQL, with a SIGKILL of the server mid-load (issue 14,
 * item 3). `xwb serve --team` runs as a child process on a PostgreSQL store; N reviewer clients (each with its own
 * sign-in cookie) rate their queue and draw, move and delete their own boxes, while a few owner "curators" correct
 * reviewers' boxes — so a reviewer and a curator edit the same box and one of them must get 409. Every write the
 * server answered 2xx is recorded with its value. At a chosen moment the server is SIGKILLed and restarted on the
 * same database and port; the clients retry what was in flight (as the renderer's save queues do) and continue.
 * At the end the store is read and every acknowledged write looked for.
 *
 * Every write carries a unique tag (a rating's comment, a box's class name), so the check is exact: the box's
 * version history has room only for the acknowledged writes and for writes whose answer was lost; a refused (409)
 * write must never be what the box holds.
 *
 * Used by bench/team-load.ts (minutes) and test/team/load-kill.test.ts (a short slice).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importDataset } from '../../src/data/import/import.js';
import { generateDataset } from '../../src/data/synthetic/generate.js';
import { createReviewSession } from '../../src/review/session.js';
import { hashPassword } from '../../src/server/team/password.js';
import { openStore, type Score } from '../../src/store/index.js';
import { Random } from '../../src/util/random.js';
import { type Server, startJsonServer, stopServer } from '../e2e/harness.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface TeamLoadOptions {
  /** A PostgreSQL URL of an empty database. */
  db: string;
  reviewers: number;
  /** Owner accounts that edit reviewers' boxes (the other side of the conflicts). */
  curators: number;
  durationMs: number;
  /** When the server is SIGKILLed, ms after the load began; default a seeded moment between 35 % and 65 %. */
  killAtMs?: number;
  seed: number;
  /** Each client waits this long between its actions, drawn uniformly (a person is far slower). */
  thinkMs: [number, number];
  /** Dataset images (every reviewer rates 2 maps of each). */
  images?: number;
  /** Cheap scrypt parameters for the accounts (tests); the default is what `xwb user add` uses. */
  fastHashes?: boolean;
  log?: (line: string) => void;
}

export interface LatencyStats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export type SlowSecond = [number, number, number, number, number];

export interface TeamLoadReport {
  reviewers: number;
  curators: number;
  ms: number;
  requests: number;
  /** Answers by status class: 2xx, 401, 403, 409 (by kind), other. */
  statuses: Record<string, number>;
  acknowledged: { ratings: number; adds: number; updates: number; deletes: number; total: number };
  /** Refused because someone else changed the box first (409 on `version`). */
  conflicts: number;
  /** Requests that got no answer (connection refused or reset, cut-off body), and how many of them were outside the kill window. */
  failures: {
    total: number;
    inKillWindow: number;
    /**
     * Outside the kill window, a reset of a kept-alive connection the server closed as the request went out (the
     * keep-alive race Node's docs describe for `req.reusedSocket`; browsers resend those by themselves). Resent here.
     */
    keepAliveRaces: number;
    /** Anything else outside the kill window: unexpected. */
    outsideKillWindow: number;
    byCode: Record<string, number>;
  };
  /**
   * How long the server process waited for a CPU while runnable (/proc/<pid>/schedstat), in all and in its worst
   * second: what the machine's load, not xwb, added to the latencies. null where /proc is not there.
   */
  serverCpuWait: { totalMs: number; worstSecondMs: number; worstSecond: number } | null;
  /** Writes retried after a failure (in flight at the kill). */
  retried: number;
  /** Resent box edits refused with 409 although the box held their own first attempt (a lost answer). */
  selfConflicts: number;
  kill: { atMs: number; downMs: number };
  latency: Record<string, LatencyStats>;
  /**
   * Answers over 1 s, grouped by the second (since the load began) they started in, with what the server did in
   * that second: [second, count, longest ms, server ms on a CPU, server ms waiting for a CPU] (-1: not sampled).
   * A stall with the server neither running nor waiting is a wait on something outside it (PostgreSQL, the disk).
   */
  slowSeconds: SlowSecond[];
  /** Acknowledged ratings found with their values (current or in the rating's history), per reviewer. */
  ratingsPresent: number;
  /** Acknowledged writes missing or changed. */
  lost: number;
  /** Writes that changed a box although refused, or an answer whose version says it overwrote someone. */
  overwritten: number;
  /** Ratings stored under another reviewer than the one who sent them. */
  mixed: number;
  /** Unexpected things (500s, 401s after sign-in, checks that failed), at most 30 lines. */
  problems: string[];
}

// ---- the fixture ----

interface Fixture {
  dir: string;
  images: { id: number; width: number; height: number }[];
  sessionId: number;
  reviewers: { name: string; password: string; raterId: number }[];
  curators: { name: string; password: string; raterId: number }[];
}

async function makeFixture(opts: TeamLoadOptions): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'xwb-team-load-'));
  await generateDataset(join(dir, 'cue'), {
    images: opts.images ?? 12,
    positives: Math.ceil((opts.images ?? 12) / 2),
    width: 32,
    height: 24,
    shapesPerImage: 2,
    colourCue: true,
    seed: 5,
  });
  const store = openStore(opts.db);
  try {
    const { dataset } = await importDataset(store, join(dir, 'cue'), { name: 'cue' });
    const images = store.images.list(dataset.id, { offset: 0, limit: 1000 });
    // Maps are stored through the store API: review needs them cached, not a trained model.
    const run = store.runs.create({ datasetId: dataset.id, model: 'expclass', config: {}, engine: 'cpu' });
    const rng = new Random('team-load-maps');
    const methods = ['explainer', 'gradient'];
    for (const im of images) {
      for (const method of methods) {
        const data = Buffer.alloc(im.width * im.height * 4);
        for (let i = 0; i < im.width * im.height; i++) data.writeFloatLE(rng.normal(), i * 4);
        store.explanations.put({
          runId: run.id,
          imageId: im.id,
          classIndex: 1,
          method,
          params: {},
          width: im.width,
          height: im.height,
          encoding: 'f32le',
          data,
        });
      }
    }
    const params = opts.fastHashes ? { logN: 10, r: 8, p: 1 } : undefined;
    const account = async (name: string, role: 'owner' | 'reviewer') => {
      const password = `${name} load password`;
      const a = store.accounts.create({ name, role, passwordHash: await hashPassword(password, params) });
      return { name, password, raterId: a.raterId, id: a.id };
    };
    const curators = [];
    for (let i = 1; i <= Math.max(1, opts.curators); i++) curators.push(await account(`cur${i}`, 'owner'));
    const reviewers = [];
    for (let i = 1; i <= opts.reviewers; i++)
      reviewers.push(await account(`rev${String(i).padStart(2, '0')}`, 'reviewer'));
    const s = createReviewSession(store, {
      name: 'load',
      runIds: [run.id],
      methods,
      imageIds: images.map((im) => im.id),
      raters: reviewers.map((r) => r.name),
      seed: 1,
    });
    for (const r of reviewers) store.accounts.assign(s.session.id, r.id);
    return {
      dir,
      images: images.map((im) => ({ id: im.id, width: im.width, height: im.height })),
      sessionId: s.session.id,
      reviewers,
      curators: opts.curators > 0 ? curators : [],
    };
  } finally {
    store.close();
  }
}

/** A free loopback port, so the restarted server can take the same one (the clients keep their address). */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function startTeamServer(f: Fixture, db: string, port: number): Promise<Server> {
  const renderer = join(f.dir, 'no-renderer'); // the API needs no renderer
  mkdirSync(renderer, { recursive: true });
  return startJsonServer(
    'xwb serve --team',
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/run.ts'),
      'serve',
      '--team',
      // Plain HTTP on loopback, as behind a TLS proxy on the same machine (TLS itself is not measured).
      '--behind-proxy',
      '--origin',
      'https://xwb.load.invalid',
      '--db',
      db,
      '--port',
      String(port),
      '--json',
    ],
    { XWB_RENDERER_DIR: renderer, XWB_FILES: join(f.dir, 'files') },
    180_000,
  );
}

// ---- the clients ----

class Down extends Error {
  constructor(
    readonly code: string,
    /** The request went out on a kept-alive connection the server may have been closing at that moment. */
    readonly reused = false,
  ) {
    super(code);
  }
}

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

type Values = {
  correctness: Score;
  completeness: Score;
  compactness: Score;
  comment: string;
  wrongFlag: boolean;
};
type BoxCoords = { x0: number; y0: number; x1: number; y1: number };

interface RatingWrite {
  reviewer: string;
  itemId: number;
  values: Values;
  acked: boolean;
  /** An attempt got no answer: it may have been stored. */
  uncertain: boolean;
}

interface BoxWrite {
  writer: string;
  boxId: number;
  imageId: number;
  kind: 'update' | 'delete';
  tag: string | null;
  box: BoxCoords | null;
  base: number;
  outcome: 'ack' | 'conflict' | 'refused' | 'gave-up';
  ackVersion?: number;
  uncertain: boolean;
}

interface AddWrite {
  writer: string;
  key: string;
  imageId: number;
  tag: string;
  box: BoxCoords;
  boxId?: number;
  acked: boolean;
}

interface Shared {
  port: number;
  stopAt: number;
  killStart: number;
  killEnd: number;
  latency: Map<string, number[]>;
  statuses: Record<string, number>;
  failures: { t: number; kind: string; code: string; reused: boolean }[];
  ratings: RatingWrite[];
  boxes: BoxWrite[];
  adds: AddWrite[];
  retried: number;
  selfConflicts: number;
  requests: number;
  problems: string[];
  /** Answers that took over a second: when they started (epoch ms) and how long. */
  slow: { kind: string; at: number; ms: number }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Client {
  cookie = '';
  readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });
  constructor(
    readonly name: string,
    readonly password: string,
    private readonly s: Shared,
  ) {}

  problem(p: string): void {
    if (this.s.problems.length < 30) this.s.problems.push(`${this.name}: ${p}`);
  }

  /** One request; an answer of any status comes back, no answer throws Down. */
  send(kind: string, method: string, path: string, body?: unknown): Promise<Answer> {
    const port = this.s.port;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      host: `127.0.0.1:${port}`,
      origin: `http://127.0.0.1:${port}`,
    };
    if (text !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(text));
    }
    if (this.cookie) headers.cookie = this.cookie;
    const t0 = performance.now();
    this.s.requests++;
    return new Promise<Answer>((ok, fail) => {
      const req = request(
        { host: '127.0.0.1', port, method, path, headers, agent: this.agent, timeout: 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => fail(new Down((e as NodeJS.ErrnoException).code ?? 'body error')));
          res.on('end', () => {
            // A killed server can cut an answer short: that is no answer.
            if (!res.complete) return fail(new Down('cut off'));
            const status = res.statusCode ?? 0;
            const buf = Buffer.concat(chunks);
            let json: Record<string, unknown> = {};
            if (String(res.headers['content-type']).startsWith('application/json')) {
              try {
                json = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
              } catch {
                return fail(new Down('bad json'));
              }
            }
            const ms = performance.now() - t0;
            if (ms > 1_000) this.s.slow.push({ kind, at: Date.now() - ms, ms });
            const list = this.s.latency.get(kind) ?? [];
            list.push(ms);
            this.s.latency.set(kind, list);
            const cls = status >= 200 && status < 300 ? '2xx' : String(status);
            this.s.statuses[cls] = (this.s.statuses[cls] ?? 0) + 1;
            if (kind === 'sign-in' && status === 200) {
              const set = res.headers['set-cookie']?.[0];
              if (set) this.cookie = set.split(';')[0];
            }
            ok({ status, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (e) =>
        fail(new Down((e as NodeJS.ErrnoException).code ?? e.message, req.reusedSocket)),
      );
      req.end(text);
    });
  }

  /**
   * Sends until answered, as the renderer's save queue does: no answer → wait (0.25 s doubling to 2 s) and
   * resend; 401 → sign in again and resend. `onRetry` learns that an attempt may have landed unanswered.
   */
  async call(
    kind: string,
    method: string,
    path: string,
    body?: unknown,
    onRetry?: () => void,
  ): Promise<Answer> {
    let wait = 250;
    const giveUp = Date.now() + 240_000;
    for (;;) {
      let a: Answer;
      try {
        a = await this.send(kind, method, path, body);
      } catch (e) {
        if (!(e instanceof Down)) throw e;
        this.s.failures.push({
          t: Date.now(),
          kind,
          code: e.code,
          reused: e.reused && e.code === 'ECONNRESET',
        });
        onRetry?.();
        if (Date.now() > giveUp) throw e;
        await sleep(wait);
        wait = Math.min(2_000, wait * 2);
        continue;
      }
      if (a.status === 401 && kind !== 'sign-in') {
        this.problem(
          `${kind} answered 401 (${String(a.json.error)}): the sign-in was lost; signing in again`,
        );
        await this.signIn();
        continue;
      }
      if (a.status >= 500)
        this.problem(`${kind} answered ${a.status}: ${String(a.json.error).slice(0, 200)}`);
      return a;
    }
  }

  api(kind: string, body: unknown, onRetry?: () => void): Promise<Answer> {
    return this.call(kind, 'POST', `/api/${kind}`, body, onRetry);
  }

  async signIn(): Promise<void> {
    const a = await this.call('sign-in', 'POST', '/auth/login', { name: this.name, password: this.password });
    if (a.status !== 200)
      throw new Error(`${this.name}: sign-in answered ${a.status}: ${String(a.json.error)}`);
  }
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const sameBox = (a: BoxCoords, b: BoxCoords) =>
  a.x0 === b.x0 && a.y0 === b.y0 && a.x1 === b.x1 && a.y1 === b.y1;

export async function runTeamLoad(opts: TeamLoadOptions): Promise<TeamLoadReport> {
  const log = opts.log ?? (() => {});
  const rng = new Random(`team-load-${opts.seed}`);
  const t0 = Date.now();
  log(`fixture: ${opts.reviewers} reviewers, ${opts.curators} curators, store ${opts.db}`);
  const f = await makeFixture(opts);
  const port = await freePort();
  const s: Shared = {
    port,
    stopAt: Number.POSITIVE_INFINITY,
    killStart: Number.POSITIVE_INFINITY,
    killEnd: Number.POSITIVE_INFINITY,
    latency: new Map(),
    statuses: {},
    failures: [],
    ratings: [],
    boxes: [],
    adds: [],
    retried: 0,
    selfConflicts: 0,
    requests: 0,
    problems: [],
    slow: [],
  };
  const problem = (p: string) => {
    if (s.problems.length < 30) s.problems.push(p);
  };
  let server: Server | undefined;
  const clients: Client[] = [];
  try {
    log(
      `fixture ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; starting xwb serve --team on port ${port}`,
    );
    server = await startTeamServer(f, opts.db, port);
    const think = (r: Random) => sleep(r.uniform(opts.thinkMs[0], opts.thinkMs[1]));
    const stopping = () => Date.now() >= s.stopAt;
    let tag = 0;
    const nextTag = (who: string) => `${who}#${++tag}`;

    const reviewer = async (who: Fixture['reviewers'][number]) => {
      const c = new Client(who.name, who.password, s);
      clients.push(c);
      const r = rng.fork(who.name);
      await c.signIn();
      const sessions = await c.api('review.sessions', {});
      const list = sessions.json as unknown as { id: number }[];
      if (!Array.isArray(list) || !list.some((x) => x.id === f.sessionId))
        throw new Error(`${who.name}: review.sessions does not list the assigned session`);
      const me = await c.api('annotator.set', { name: who.name });
      const annotatorId = me.json.id as number;
      if (annotatorId !== who.raterId) c.problem(`annotator.set answered ${annotatorId}, not ${who.raterId}`);
      const seen: number[] = [];
      let finished = false;

      const rateLoop = async () => {
        while (!stopping()) {
          await think(r);
          let itemId: number;
          if (!finished && r.bool(0.85)) {
            const n = await c.api('review.next', { sessionId: f.sessionId, rater: who.name });
            if (n.status !== 200) {
              c.problem(`review.next answered ${n.status}: ${String(n.json.error)}`);
              continue;
            }
            const item = n.json.item as {
              itemId: number;
              image: { url: string };
              explanation: { url: string };
            } | null;
            if (item === null) {
              finished = true;
              continue;
            }
            // What the rating screen loads for an item.
            for (const [kind, url] of [
              ['file.image', item.image.url],
              ['file.explanation', item.explanation.url],
            ] as const) {
              const got = await c.call(kind, 'GET', url);
              if (got.status !== 200) c.problem(`${kind} ${url} answered ${got.status}`);
            }
            itemId = item.itemId;
            if (!seen.includes(itemId)) seen.push(itemId);
          } else if (seen.length > 0) {
            itemId = seen[r.int(0, seen.length - 1)]; // coming back to revise an earlier rating
          } else continue;
          const score = () => (r.bool(0.1) ? null : (r.int(1, 5) as Score));
          const w: RatingWrite = {
            reviewer: who.name,
            itemId,
            values: {
              correctness: score(),
              completeness: score(),
              compactness: score(),
              comment: nextTag(who.name),
              wrongFlag: r.bool(0.2),
            },
            acked: false,
            uncertain: false,
          };
          s.ratings.push(w);
          const a = await c.api('review.rate', { itemId, ...w.values }, () => {
            if (!w.uncertain) s.retried++;
            w.uncertain = true;
          });
          if (a.status === 200) {
            w.acked = true;
            if (a.json.comment !== w.values.comment) c.problem(`review.rate answered another comment`);
          } else c.problem(`review.rate of item ${itemId} answered ${a.status}: ${String(a.json.error)}`);
        }
      };

      /** My boxes as I last saw them: id → version. */
      const mine = new Map<number, { imageId: number; version: number; deleted: boolean }>();
      const reload = async (imageId: number) => {
        const l = await c.api('annotations.list', { imageId });
        if (l.status !== 200) return c.problem(`annotations.list answered ${l.status}`);
        for (const b of l.json.boxes as {
          id: number;
          annotator: number | null;
          version: number;
          deleted: boolean;
        }[]) {
          if (b.annotator !== annotatorId) continue;
          mine.set(b.id, { imageId, version: b.version, deleted: b.deleted });
        }
      };
      let keys = 0;
      const boxLoop = async () => {
        while (!stopping()) {
          await think(r);
          await think(r);
          const live = [...mine.entries()].filter(([, b]) => !b.deleted);
          const choice = r.next();
          if (live.length < 2 || (choice < 0.3 && live.length < 3 * f.images.length)) {
            const im = f.images[r.int(0, f.images.length - 1)];
            const add: AddWrite = {
              writer: who.name,
              key: `${who.name}-k${++keys}`,
              imageId: im.id,
              tag: nextTag(who.name),
              box: randomBox(r, im.width, im.height),
              acked: false,
            };
            s.adds.push(add);
            const a = await c.api('annotations.add', {
              imageId: im.id,
              annotator: annotatorId,
              box: add.box,
              className: add.tag,
              clientKey: add.key,
            });
            if (a.status !== 200) {
              c.problem(`annotations.add answered ${a.status}: ${String(a.json.error)}`);
              continue;
            }
            add.acked = true;
            add.boxId = a.json.id as number;
            mine.set(add.boxId, { imageId: im.id, version: a.json.version as number, deleted: false });
            continue;
          }
          const [id, known] = live[r.int(0, live.length - 1)];
          const del = choice > 0.95;
          const im = f.images.find((x) => x.id === known.imageId)!;
          const w: BoxWrite = {
            writer: who.name,
            boxId: id,
            imageId: known.imageId,
            kind: del ? 'delete' : 'update',
            tag: del ? null : nextTag(who.name),
            box: del ? null : randomBox(r, im.width, im.height),
            base: known.version,
            outcome: 'gave-up',
            uncertain: false,
          };
          s.boxes.push(w);
          const a = await sendBoxWrite(c, w);
          if (a.status === 200) {
            known.version = a.json.version as number;
            known.deleted = a.json.deleted as boolean;
          } else if (a.status === 409) {
            await reload(known.imageId); // the message says: reload and redo
          }
        }
      };
      await Promise.all([rateLoop(), boxLoop()]);
    };

    const sendBoxWrite = async (c: Client, w: BoxWrite): Promise<Answer> => {
      const onRetry = () => {
        if (!w.uncertain) s.retried++;
        w.uncertain = true;
      };
      const a =
        w.kind === 'update'
          ? await c.api(
              'annotations.update',
              { id: w.boxId, box: w.box, className: w.tag, version: w.base },
              onRetry,
            )
          : await c.api('annotations.delete', { id: w.boxId, version: w.base }, onRetry);
      if (a.status === 200) {
        w.outcome = 'ack';
        w.ackVersion = a.json.version as number;
      } else if (a.status === 409) {
        w.outcome = a.json.field === 'version' ? 'conflict' : 'refused';
        const key = `409 ${String(a.json.field)}`;
        s.statuses[key] = (s.statuses[key] ?? 0) + 1;
        if (w.uncertain && w.outcome === 'conflict') {
          // Refused after a resend: did the first attempt land, so that the resend conflicted with itself?
          const l = await c.api('annotations.list', { imageId: w.imageId });
          const now = (
            l.json.boxes as { id: number; className: string; deleted: boolean }[] | undefined
          )?.find((b) => b.id === w.boxId);
          if (now && (w.kind === 'delete' ? now.deleted : now.className === w.tag)) {
            s.selfConflicts++;
            c.problem(
              `${w.kind} of box ${w.boxId} landed, its answer was lost, and the resend was refused as a conflict ` +
                'with itself (the person would be told someone else changed the box)',
            );
          }
        }
      } else {
        w.outcome = 'refused';
        c.problem(`${w.kind} of box ${w.boxId} answered ${a.status}: ${String(a.json.error)}`);
      }
      return a;
    };

    const curator = async (who: Fixture['curators'][number]) => {
      const c = new Client(who.name, who.password, s);
      clients.push(c);
      const r = rng.fork(who.name);
      await c.signIn();
      while (!stopping()) {
        await think(r);
        const im = f.images[r.int(0, f.images.length - 1)];
        const l = await c.api('annotations.list', { imageId: im.id });
        if (l.status !== 200) {
          c.problem(`annotations.list answered ${l.status}`);
          continue;
        }
        const boxes = (
          l.json.boxes as { id: number; annotator: number | null; version: number; deleted: boolean }[]
        ).filter((b) => b.annotator !== null && !b.deleted);
        if (boxes.length === 0) continue;
        const b = boxes[r.int(0, boxes.length - 1)];
        await think(r); // looking at it before the correction: the reviewer may move it meanwhile
        const w: BoxWrite = {
          writer: who.name,
          boxId: b.id,
          imageId: im.id,
          kind: 'update',
          tag: nextTag(who.name),
          box: randomBox(r, im.width, im.height),
          base: b.version,
          outcome: 'gave-up',
          uncertain: false,
        };
        s.boxes.push(w);
        await sendBoxWrite(c, w);
      }
    };

    const begin = Date.now();
    s.stopAt = begin + opts.durationMs;
    const killAt = opts.killAtMs ?? Math.round(opts.durationMs * rng.uniform(0.35, 0.65));
    const everyone = [...f.reviewers.map(reviewer), ...f.curators.map(curator)];
    const progress = setInterval(() => {
      log(
        `${((Date.now() - begin) / 1000).toFixed(0)} s: ${s.requests} requests, ` +
          `${s.ratings.filter((w) => w.acked).length} ratings acknowledged, ${s.failures.length} failures`,
      );
    }, 15_000);
    // The server's time spent runnable but waiting for a CPU, sampled every second (both server processes).
    let cpuWait: TeamLoadReport['serverCpuWait'] = null;
    let lastWait: number | undefined;
    let lastRan: number | undefined;
    /** Per second of the load: the server's ms on a CPU and ms waiting for one. */
    const serverSeconds = new Map<number, [number, number]>();
    let lastPid: number | undefined;
    const sampler = setInterval(() => {
      const pid = server?.child.pid;
      let ran: number;
      let waited: number;
      try {
        // schedstat: ns on a CPU, ns runnable but waiting for one, timeslices.
        const f = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
        [ran, waited] = [f[0], f[1]];
      } catch {
        return;
      }
      if (pid !== lastPid) {
        lastPid = pid;
        [lastRan, lastWait] = [ran, waited];
        return;
      }
      const d = (waited - (lastWait ?? waited)) / 1e6;
      const r = (ran - (lastRan ?? ran)) / 1e6;
      [lastRan, lastWait] = [ran, waited];
      const sec = Math.floor((Date.now() - begin) / 1000) - 1;
      serverSeconds.set(sec, [Math.round(r), Math.round(d)]);
      cpuWait ??= { totalMs: 0, worstSecondMs: 0, worstSecond: 0 };
      cpuWait.totalMs += d;
      if (d > cpuWait.worstSecondMs) {
        cpuWait.worstSecondMs = d;
        cpuWait.worstSecond = sec;
      }
    }, 1_000);
    const killer = (async () => {
      await sleep(killAt);
      s.killStart = Date.now();
      log(`SIGKILL of the server at ${((s.killStart - begin) / 1000).toFixed(1)} s`);
      await stopServer(server?.child, 'SIGKILL');
      server = await startTeamServer(f, opts.db, port);
      s.killEnd = Date.now();
      log(`server back after ${((s.killEnd - s.killStart) / 1000).toFixed(1)} s`);
    })();
    const results = await Promise.allSettled([...everyone, killer]);
    clearInterval(progress);
    clearInterval(sampler);
    for (const r of results)
      if (r.status === 'rejected') problem(`a client failed: ${(r.reason as Error).message}`);
    const ms = Date.now() - begin;
    await stopServer(server?.child, 'SIGTERM');
    server = undefined;
    for (const c of clients) c.agent.destroy();
    log('verifying the store');
    const v = verify(opts.db, f, s);

    const latency: Record<string, LatencyStats> = {};
    for (const [kind, list] of [...s.latency.entries()].sort()) {
      const sorted = [...list].sort((a, b) => a - b);
      latency[kind] = {
        n: sorted.length,
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        p99: percentile(sorted, 0.99),
        max: sorted[sorted.length - 1],
      };
    }
    // A request that started before the restart finished may fail up to its own length after it.
    const inWindow = (t: number) => t >= s.killStart && t <= s.killEnd + 2_000;
    const byCode: Record<string, number> = {};
    for (const x of s.failures) byCode[x.code] = (byCode[x.code] ?? 0) + 1;
    const inKill = s.failures.filter((x) => inWindow(x.t)).length;
    const races = s.failures.filter((x) => !inWindow(x.t) && x.reused).length;
    const acked = {
      ratings: s.ratings.filter((w) => w.acked).length,
      adds: s.adds.filter((w) => w.acked).length,
      updates: s.boxes.filter((w) => w.outcome === 'ack' && w.kind === 'update').length,
      deletes: s.boxes.filter((w) => w.outcome === 'ack' && w.kind === 'delete').length,
      total: 0,
    };
    acked.total = acked.ratings + acked.adds + acked.updates + acked.deletes;
    return {
      reviewers: opts.reviewers,
      curators: f.curators.length,
      ms,
      requests: s.requests,
      statuses: s.statuses,
      acknowledged: acked,
      conflicts: s.boxes.filter((w) => w.outcome === 'conflict').length,
      failures: {
        total: s.failures.length,
        inKillWindow: inKill,
        keepAliveRaces: races,
        outsideKillWindow: s.failures.length - inKill - races,
        byCode,
      },
      retried: s.retried,
      serverCpuWait: cpuWait,
      selfConflicts: s.selfConflicts,
      kill: { atMs: s.killStart - begin, downMs: s.killEnd - s.killStart },
      latency,
      slowSeconds: slowSeconds(s.slow, begin).map(
        ([sec, n, ms]) => [sec, n, ms, ...(serverSeconds.get(sec) ?? [-1, -1])] as SlowSecond,
      ),
      ...v,
      problems: s.problems,
    };
  } finally {
    if (server) await stopServer(server.child, 'SIGKILL');
    for (const c of clients) c.agent.destroy();
    rmSync(f.dir, { recursive: true, force: true });
  }
}

function slowSeconds(slow: Shared['slow'], begin: number): [number, number, number][] {
  const by = new Map<number, [number, number, number]>();
  for (const x of slow) {
    const sec = Math.floor((x.at - begin) / 1000);
    const e = by.get(sec) ?? [sec, 0, 0];
    e[1]++;
    e[2] = Math.max(e[2], Math.round(x.ms));
    by.set(sec, e);
  }
  return [...by.values()].sort((a, b) => a[0] - b[0]);
}

function randomBox(r: Random, w: number, h: number): BoxCoords {
  const x0 = r.int(0, w - 4);
  const y0 = r.int(0, h - 4);
  return { x0, y0, x1: r.int(x0 + 2, w), y1: r.int(y0 + 2, h) };
}

/** Reads the store after the run and looks for every acknowledged write. */
function verify(
  db: string,
  f: Fixture,
  s: Shared,
): Pick<TeamLoadReport, 'ratingsPresent' | 'lost' | 'overwritten' | 'mixed'> {
  let lost = 0;
  let overwritten = 0;
  let mixed = 0;
  let ratingsPresent = 0;
  const problem = (p: string) => {
    if (s.problems.length < 30) s.problems.push(p);
  };
  const store = openStore(db);
  try {
    // ---- ratings: per reviewer and item, the last acknowledged value is the stored one (or a later write whose
    // answer was lost), and every acknowledged value is in the rating's history.
    const raterName = new Map([...f.reviewers, ...f.curators].map((a) => [a.raterId, a.name] as const));
    const rows = store.ratings.list({ sessionId: f.sessionId });
    const byKey = new Map<string, (typeof rows)[number]>();
    for (const row of rows) {
      const name = raterName.get(row.raterId) ?? `rater ${row.raterId}`;
      const author = row.comment?.split('#')[0];
      if (author !== name) {
        mixed++;
        problem(`rating ${row.id} of ${name} holds ${row.comment}, written by ${author}`);
      }
      byKey.set(`${name}/${row.reviewItemId}`, row);
    }
    const writes = new Map<string, RatingWrite[]>();
    for (const w of s.ratings) {
      const k = `${w.reviewer}/${w.itemId}`;
      writes.set(k, [...(writes.get(k) ?? []), w]);
    }
    const same = (
      a: Values,
      b: {
        correctness: Score;
        completeness: Score;
        compactness: Score;
        comment: string | null;
        wrongFlag: boolean;
      },
    ) =>
      a.correctness === b.correctness &&
      a.completeness === b.completeness &&
      a.compactness === b.compactness &&
      a.comment === b.comment &&
      a.wrongFlag === b.wrongFlag;
    for (const [k, ws] of writes) {
      const row = byKey.get(k);
      const ackedWrites = ws.filter((w) => w.acked);
      if (ackedWrites.length === 0) continue;
      if (!row) {
        lost += ackedWrites.length;
        problem(`${k}: ${ackedWrites.length} acknowledged ratings, none stored`);
        continue;
      }
      const versions = [row, ...store.ratings.history(row.id)];
      for (const w of ackedWrites) {
        if (versions.some((v) => same(w.values, v))) ratingsPresent++;
        else {
          lost++;
          problem(`${k}: acknowledged rating ${w.values.comment} is not in the rating or its history`);
        }
      }
      const last = ackedWrites[ackedWrites.length - 1];
      const later = ws.slice(ws.indexOf(last) + 1).filter((w) => w.uncertain);
      if (!same(last.values, row) && !later.some((w) => same(w.values, row))) {
        lost++;
        problem(`${k}: stored ${row.comment}, last acknowledged ${last.values.comment}`);
      }
    }

    // ---- boxes
    const stored = new Map<number, ReturnType<typeof store.objects.get>>();
    for (const im of f.images)
      for (const o of store.objects.list(im.id, { includeDeleted: true }))
        if (o.source.kind === 'annotator') stored.set(o.id, o);
    const addById = new Map<number, AddWrite>();
    for (const a of s.adds) {
      if (!a.acked || a.boxId === undefined) continue;
      if (addById.has(a.boxId)) {
        overwritten++;
        problem(`adds ${addById.get(a.boxId)!.key} and ${a.key} were both answered with box ${a.boxId}`);
      }
      addById.set(a.boxId, a);
    }
    for (const [id] of stored) {
      if (!addById.has(id) && !s.adds.some((a) => !a.acked)) {
        problem(`box ${id} is stored but no add of it was sent`);
        overwritten++;
      }
    }
    const perBox = new Map<number, BoxWrite[]>();
    for (const w of s.boxes) perBox.set(w.boxId, [...(perBox.get(w.boxId) ?? []), w]);
    for (const [id, add] of addById) {
      const o = stored.get(id);
      if (!o) {
        lost++;
        problem(`box ${id} (${add.key}) was acknowledged and is gone`);
        continue;
      }
      const ws = perBox.get(id) ?? [];
      const acked = ws.filter((w) => w.outcome === 'ack');
      for (const w of acked) {
        // A write based on version v that is acknowledged must have made v + 1: anything else means it was applied
        // on top of a change it had not seen (an overwrite the version check should have refused).
        if (w.ackVersion !== w.base + 1) {
          overwritten++;
          problem(`box ${id}: ${w.writer}'s ${w.kind} based on v${w.base} was answered v${w.ackVersion}`);
        }
      }
      const versions = acked.map((w) => w.ackVersion!);
      if (new Set(versions).size !== versions.length) {
        overwritten++;
        problem(`box ${id}: two acknowledged writes share a version (${versions.join(', ')})`);
      }
      const unanswered = ws.filter((w) => w.uncertain && w.outcome !== 'ack').length;
      const unaccounted = o.version - 1 - versions.length;
      if (unaccounted < 0 || unaccounted > unanswered) {
        overwritten++;
        problem(
          `box ${id}: version ${o.version} = 1 + ${versions.length} acknowledged writes + ${unaccounted} others, ` +
            `but only ${unanswered} writes went unanswered (a refused write changed the box, or a change was lost)`,
        );
      }
      const maxAck = Math.max(1, ...versions);
      const head = acked.find((w) => w.ackVersion === maxAck);
      const holds = (w: { tag: string | null; box: BoxCoords | null; kind: string }) =>
        w.kind === 'delete'
          ? o.deletedAt !== null
          : o.deletedAt === null && o.object.name === w.tag && w.box !== null && sameBox(o.object.box, w.box);
      let ok: boolean;
      if (o.version < maxAck) ok = false;
      else if (o.version === maxAck)
        ok = head ? holds(head) : holds({ tag: add.tag, box: add.box, kind: 'add' });
      else ok = ws.some((w) => w.uncertain && w.outcome !== 'ack' && holds(w));
      if (!ok) {
        lost++;
        problem(
          `box ${id}: holds v${o.version} ${o.object.name} deleted=${o.deletedAt !== null}; last acknowledged ` +
            `v${maxAck} ${head?.tag ?? (head ? 'delete' : add.tag)}`,
        );
      }
      for (const w of ws) {
        if (w.outcome === 'conflict' && !w.uncertain && w.tag !== null && o.object.name === w.tag) {
          overwritten++;
          problem(`box ${id}: holds ${w.tag}, a write that was refused with 409`);
        }
      }
    }
  } finally {
    store.close();
  }
  return { ratingsPresent, lost, overwritten, mixed };
}
