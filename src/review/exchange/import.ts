/**
 * Reading a rated export back (layout in ./format.ts). `readRatedExport` checks everything before the store is
 * touched: the manifest, every file's SHA-256, and the shape of every JSON document. `restoreRatedExport` then
 * writes people, runs, explanations, sessions, items, ratings, boxes and masks in one transaction.
 *
 * Re-importing the same folder changes nothing: records that are already there (same key and content) are reused.
 * A record that is there with different content is an error, never overwritten: ratings are never replaced.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exportIds } from '../../data/export/export.js';
import type { VocObject } from '../../data/types.js';
import { parseVoc } from '../../data/voc/parse.js';
import { type JsonObject, paramsHash, type Rating, type Score, type Store } from '../../store/index.js';
import {
  EXTRAS,
  type ExplanationDoc,
  FILES,
  IMPORTED_RUN_KEY,
  type Manifest,
  type MaskDoc,
  metricFromDoc,
  type PersonDoc,
  RATED_FORMAT,
  RATED_MANIFEST,
  RATED_VERSION,
  type RatingDoc,
  type RunDoc,
  type SessionDoc,
} from './format.js';

export class RatedImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RatedImportError';
  }
}

export interface BoxFile {
  person: string;
  image: string;
  objects: VocObject[];
}

export interface RatedExport {
  root: string;
  manifest: Manifest;
  people: PersonDoc[];
  runs: RunDoc[];
  explanations: ExplanationDoc[];
  masks: MaskDoc[];
  sessions: SessionDoc[];
  ratings: RatingDoc[];
  boxes: BoxFile[];
}

export interface RestoreCounts {
  created: number;
  unchanged: number;
}

export interface RestoreReport {
  people: RestoreCounts;
  runs: RestoreCounts;
  explanations: RestoreCounts;
  sessions: RestoreCounts;
  items: RestoreCounts;
  ratings: RestoreCounts;
  boxes: RestoreCounts;
  masks: RestoreCounts;
}

type Obj = Record<string, unknown>;

function fail(file: string, problem: string): never {
  throw new RatedImportError(`${file}: ${problem}`);
}

function readJson(root: string, name: string): Obj {
  const file = join(root, name);
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Obj;
  } catch (e) {
    return fail(file, `cannot be read as JSON (${(e as Error).message}); the export is damaged`);
  }
}

/** A list of objects under `key`, each checked to have the fields listed with the given JSON types. */
function list<T>(doc: Obj, key: string, file: string, fields: Record<string, string>): T[] {
  const v = doc[key];
  if (!Array.isArray(v)) fail(file, `"${key}" must be a list`);
  v.forEach((item, i) => {
    if (item === null || typeof item !== 'object') fail(file, `${key}[${i}] must be an object`);
    for (const [f, types] of Object.entries(fields)) {
      const x = (item as Obj)[f];
      const t = x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x;
      if (!types.split('|').includes(t))
        fail(file, `${key}[${i}].${f} must be ${types.replace('|', ' or ')}, got ${t}`);
    }
  });
  return v as T[];
}

const TEXT = 'string';
const OPT_TEXT = 'string|null';
const INT = 'number';
const OPT_INT = 'number|null';

/** The rated export in `root`, checked; undefined when the folder is not one (no xwb manifest.json). */
export function readRatedExport(root: string): RatedExport | undefined {
  const manifestFile = join(root, RATED_MANIFEST);
  if (!existsSync(manifestFile)) return undefined;
  const m = readJson(root, RATED_MANIFEST);
  if (m.format !== RATED_FORMAT) return undefined; // another tool's manifest.json
  if (m.version !== RATED_VERSION) {
    fail(
      manifestFile,
      `format version ${String(m.version)} is not one this xwb reads (${RATED_VERSION}); update xwb`,
    );
  }
  if (
    typeof m.dataset !== 'string' ||
    !Array.isArray(m.with) ||
    m.files === null ||
    typeof m.files !== 'object'
  ) {
    fail(manifestFile, 'needs "dataset", "with" and "files"');
  }
  const manifest = m as unknown as Manifest;
  for (const x of manifest.with) if (!EXTRAS.includes(x)) fail(manifestFile, `unknown part "${x}" in "with"`);
  const bad: string[] = [];
  for (const [rel, sha] of Object.entries(manifest.files)) {
    if (rel.split('/').includes('..')) fail(manifestFile, `file path "${rel}" leaves the export folder`);
    const file = join(root, rel);
    if (!existsSync(file)) bad.push(`${rel} is missing`);
    else if (createHash('sha256').update(readFileSync(file)).digest('hex') !== sha)
      bad.push(`${rel} has changed`);
  }
  if (bad.length > 0) {
    fail(
      root,
      `${bad.length} file(s) do not match manifest.json (${bad.slice(0, 5).join('; ')}${bad.length > 5 ? '; …' : ''}). ` +
        'The export is incomplete or was edited; export it again. Nothing was imported.',
    );
  }
  const opt = (name: string) => (manifest.files[name] !== undefined ? readJson(root, name) : undefined);
  const peopleDoc = opt(FILES.people);
  const people = peopleDoc
    ? list<PersonDoc>(peopleDoc, 'people', FILES.people, { name: TEXT, createdAt: TEXT, folder: TEXT })
    : [];
  const explDoc = opt(FILES.explanations);
  const runs = explDoc
    ? list<RunDoc>(explDoc, 'runs', FILES.explanations, {
        ref: TEXT,
        model: TEXT,
        config: 'object',
        engine: TEXT,
        device: OPT_TEXT,
        status: TEXT,
        error: OPT_TEXT,
        phase: OPT_TEXT,
        epoch: OPT_INT,
        createdAt: TEXT,
        startedAt: OPT_TEXT,
        finishedAt: OPT_TEXT,
      })
    : [];
  const explanations = explDoc
    ? list<ExplanationDoc>(explDoc, 'explanations', FILES.explanations, {
        ref: TEXT,
        run: TEXT,
        image: TEXT,
        classIndex: INT,
        method: TEXT,
        params: 'object',
        width: INT,
        height: INT,
        encoding: TEXT,
        file: TEXT,
        metrics: 'array',
      })
    : [];
  for (const e of explanations) {
    if (manifest.files[e.file] === undefined)
      fail(FILES.explanations, `${e.ref}: its file ${e.file} is not in the manifest`);
  }
  const masksDoc = opt(FILES.masks);
  const masks = masksDoc
    ? list<MaskDoc>(masksDoc, 'masks', FILES.masks, {
        image: TEXT,
        person: OPT_TEXT,
        kind: TEXT,
        file: TEXT,
        width: INT,
        height: INT,
      })
    : [];
  for (const mk of masks) {
    if (manifest.files[mk.file] === undefined)
      fail(FILES.masks, `mask file ${mk.file} is not in the manifest`);
  }
  const ratingsDoc = opt(FILES.ratingsJson);
  const sessions = ratingsDoc
    ? list<SessionDoc>(ratingsDoc, 'sessions', FILES.ratingsJson, {
        ref: TEXT,
        name: TEXT,
        config: 'object',
        blinded: 'boolean',
        createdAt: TEXT,
        items: 'array',
      })
    : [];
  for (const s of sessions) {
    list(s as unknown as Obj, 'items', `${FILES.ratingsJson} (${s.ref})`, {
      rater: TEXT,
      explanation: TEXT,
      position: INT,
      side: OPT_TEXT,
      createdAt: TEXT,
    });
  }
  const ratings = ratingsDoc
    ? list<RatingDoc>(ratingsDoc, 'ratings', FILES.ratingsJson, {
        session: OPT_TEXT,
        position: OPT_INT,
        rater: TEXT,
        explanation: TEXT,
        correctness: OPT_INT,
        completeness: OPT_INT,
        compactness: OPT_INT,
        comment: OPT_TEXT,
        wrongFlag: 'boolean',
        createdAt: TEXT,
        updatedAt: TEXT,
        history: 'array',
      })
    : [];

  const boxes: BoxFile[] = [];
  const personByFolder = new Map(people.map((p) => [p.folder, p.name]));
  for (const d of readdirSync(root).sort()) {
    if (!d.startsWith('Annotations-') || !statSync(join(root, d)).isDirectory()) continue;
    const name = personByFolder.get(d.slice('Annotations-'.length));
    if (name === undefined)
      fail(join(root, d), `no person in ${FILES.people} has the folder "${d.slice(12)}"`);
    for (const f of readdirSync(join(root, d)).sort()) {
      if (!f.endsWith('.xml')) continue;
      const file = join(root, d, f);
      boxes.push({
        person: name,
        image: f.slice(0, -4),
        objects: parseVoc(readFileSync(file), file).annotation.objects,
      });
    }
  }
  return { root, manifest, people, runs, explanations, masks, sessions, ratings, boxes };
}

const same = (a: unknown, b: unknown) => paramsHash(a) === paramsHash(b);

/** Writes the review data of a checked export into the store, for the dataset it was imported as. */
export function restoreRatedExport(store: Store, datasetId: number, data: RatedExport): RestoreReport {
  const counts = (): RestoreCounts => ({ created: 0, unchanged: 0 });
  const report: RestoreReport = {
    people: counts(),
    runs: counts(),
    explanations: counts(),
    sessions: counts(),
    items: counts(),
    ratings: counts(),
    boxes: counts(),
    masks: counts(),
  };
  const tally = (c: RestoreCounts, created: boolean) => (created ? c.created++ : c.unchanged++);
  const images = store.images.list(datasetId, { limit: Number.MAX_SAFE_INTEGER });
  const imageId = new Map(exportIds(images).map((id, i) => [id, images[i].id]));
  const imageOf = (ref: string, where: string) => {
    const id = imageId.get(ref);
    if (id === undefined)
      throw new RatedImportError(`${where}: image "${ref}" is not in the imported dataset`);
    return id;
  };

  return store.transaction(() => {
    const personId = new Map<string, number>();
    for (const p of data.people) {
      const before = store.ratings.raterByName(p.name);
      personId.set(p.name, store.ratings.restoreRater({ name: p.name, createdAt: p.createdAt }).id);
      tally(report.people, before === undefined);
    }
    const personOf = (name: string, where: string) => {
      const id = personId.get(name);
      if (id === undefined) throw new RatedImportError(`${where}: "${name}" is not in ${FILES.people}`);
      return id;
    };

    // Runs: an imported record matches when everything exported about it is equal.
    const runId = new Map<string, number>();
    const existingRuns = store.runs.list({ datasetId });
    for (const r of data.runs) {
      const { ref, ...rec } = r;
      const match = existingRuns.find((x) => {
        const { [IMPORTED_RUN_KEY]: mark, ...config } = x.config;
        return (
          mark !== undefined &&
          same(config, rec.config) &&
          x.model === rec.model &&
          x.engine === rec.engine &&
          x.createdAt === rec.createdAt &&
          x.status === rec.status
        );
      });
      if (match) runId.set(ref, match.id);
      else {
        const mark = { from: data.root, exportedAt: data.manifest.exportedAt };
        const run = store.runs.restore({
          ...rec,
          datasetId,
          config: { ...(rec.config as JsonObject), [IMPORTED_RUN_KEY]: mark },
          folder: null,
        });
        runId.set(ref, run.id);
      }
      tally(report.runs, match === undefined);
    }

    const explId = new Map<string, number>();
    for (const e of data.explanations) {
      const where = `${FILES.explanations}: ${e.ref}`;
      const run = runId.get(e.run);
      if (run === undefined) throw new RatedImportError(`${where}: run "${e.run}" is not in the file`);
      const key = {
        runId: run,
        imageId: imageOf(e.image, where),
        classIndex: e.classIndex,
        method: e.method,
        params: e.params as JsonObject,
      };
      const bytes = readFileSync(join(data.root, e.file));
      const old = store.explanations.get(key);
      if (
        old !== undefined &&
        !(
          old.data.equals(bytes) &&
          old.width === e.width &&
          old.height === e.height &&
          old.encoding === e.encoding
        )
      ) {
        throw new RatedImportError(
          `${where}: the store already has this explanation with a different map; nothing was replaced`,
        );
      }
      const id =
        old?.id ??
        store.explanations.put({
          ...key,
          width: e.width,
          height: e.height,
          encoding: e.encoding,
          data: bytes,
        }).id;
      explId.set(e.ref, id);
      const metrics = e.metrics.map((m) => ({
        metric: m.metric,
        params: m.params as JsonObject,
        value: metricFromDoc(m.value),
      }));
      const stored = store.explanations.metrics(id);
      const unchanged =
        stored.length === metrics.length &&
        metrics.every((m) =>
          stored.some(
            (s) =>
              s.metric === m.metric && s.paramsHash === paramsHash(m.params) && Object.is(s.value, m.value),
          ),
        );
      if (!unchanged) store.explanations.putMetrics(id, metrics);
      tally(report.explanations, old === undefined);
    }
    const explOf = (ref: string, where: string) => {
      const id = explId.get(ref);
      if (id === undefined)
        throw new RatedImportError(`${where}: explanation "${ref}" is not in ${FILES.explanations}`);
      return id;
    };

    // Sessions match on name, creation time and config; their items are then expected to be there too.
    const itemId = new Map<string, number>();
    const itemKey = (session: string, rater: string, position: number) =>
      `${session}\u0000${rater.toLowerCase()}\u0000${position}`;
    for (const s of data.sessions) {
      const where = `${FILES.ratingsJson}: ${s.ref}`;
      let session = store.ratings
        .listSessions()
        .find((x) => x.name === s.name && x.createdAt === s.createdAt && same(x.config, s.config));
      tally(report.sessions, session === undefined);
      session ??= store.ratings.restoreSession({
        name: s.name,
        config: s.config as JsonObject,
        blinded: s.blinded,
        createdAt: s.createdAt,
      });
      const have = new Map(store.ratings.items(session.id).map((it) => [`${it.raterId}:${it.position}`, it]));
      const missing: { it: SessionDoc['items'][number]; rater: number; explanationId: number }[] = [];
      for (const it of s.items) {
        const rater = personOf(it.rater, where);
        const explanationId = explOf(it.explanation, where);
        const old = have.get(`${rater}:${it.position}`);
        if (old !== undefined) {
          if (old.explanationId !== explanationId || old.side !== it.side) {
            throw new RatedImportError(
              `${where}: ${it.rater}'s item ${it.position} differs from the store's`,
            );
          }
          itemId.set(itemKey(s.ref, it.rater, it.position), old.id);
          report.items.unchanged++;
        } else missing.push({ it, rater, explanationId });
      }
      const added = store.ratings.restoreItems(
        session.id,
        missing.map(({ it, rater, explanationId }) => ({
          raterId: rater,
          explanationId,
          position: it.position,
          side: it.side,
          createdAt: it.createdAt,
        })),
      );
      added.forEach((a, i) => {
        itemId.set(itemKey(s.ref, missing[i].it.rater, a.position), a.id);
        report.items.created++;
      });
    }

    const stored = store.ratings.list();
    const byItem = new Map(stored.filter((x) => x.reviewItemId !== null).map((x) => [x.reviewItemId, x]));
    const free = new Map(
      stored.filter((x) => x.reviewItemId === null).map((x) => [`${x.raterId}:${x.explanationId}`, x]),
    );
    for (const r of data.ratings) {
      const where = `${FILES.ratingsJson}: rating by ${r.rater} of ${r.explanation}`;
      let target: { reviewItemId: number } | { raterId: number; explanationId: number };
      let old: Rating | undefined;
      if (r.session === null) {
        target = { raterId: personOf(r.rater, where), explanationId: explOf(r.explanation, where) };
        old = free.get(`${target.raterId}:${target.explanationId}`);
      } else {
        const reviewItemId = itemId.get(itemKey(r.session, r.rater, r.position ?? -1));
        if (reviewItemId === undefined) {
          throw new RatedImportError(
            `${where}: no item at position ${r.position} of ${r.session} for this rater`,
          );
        }
        target = { reviewItemId };
        old = byItem.get(reviewItemId);
      }
      const values = {
        correctness: r.correctness as Score,
        completeness: r.completeness as Score,
        compactness: r.compactness as Score,
        comment: r.comment,
        wrongFlag: r.wrongFlag,
      };
      if (old !== undefined) {
        const equal =
          old.correctness === values.correctness &&
          old.completeness === values.completeness &&
          old.compactness === values.compactness &&
          old.comment === values.comment &&
          old.wrongFlag === values.wrongFlag &&
          old.createdAt === r.createdAt &&
          old.updatedAt === r.updatedAt;
        if (!equal) {
          throw new RatedImportError(
            `${where}: the store already has a different rating for it; ratings are never replaced`,
          );
        }
        report.ratings.unchanged++;
        continue;
      }
      store.ratings.restoreRating({
        ...target,
        ...values,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        history: r.history.map((h) => ({
          ...h,
          correctness: h.correctness as Score,
          completeness: h.completeness as Score,
          compactness: h.compactness as Score,
        })),
      });
      report.ratings.created++;
    }

    for (const b of data.boxes) {
      const where = `Annotations of ${b.person}, image ${b.image}`;
      const annotatorId = personOf(b.person, where);
      const image = imageOf(b.image, where);
      const live = store.objects
        .list(image, { source: { kind: 'annotator', annotatorId } })
        .map((o) => paramsHash(o.object));
      for (const o of b.objects) {
        const i = live.indexOf(paramsHash(o));
        if (i >= 0) {
          live.splice(i, 1); // each stored box matches one exported box
          report.boxes.unchanged++;
        } else {
          store.objects.addAnnotation(image, annotatorId, o);
          report.boxes.created++;
        }
      }
    }

    for (const mk of data.masks) {
      const where = `${FILES.masks}: ${mk.file}`;
      const image = imageOf(mk.image, where);
      const source =
        mk.person === null
          ? ({ kind: 'gt' } as const)
          : ({ kind: 'annotator', annotatorId: personOf(mk.person, where) } as const);
      const png = readFileSync(join(data.root, mk.file));
      const old = store.masks.get(image, mk.kind, source);
      const unchanged = old !== undefined && 'png' in old.content && old.content.png.equals(png);
      if (!unchanged)
        store.masks.put({
          imageId: image,
          kind: mk.kind,
          source,
          content: { png },
          width: mk.width,
          height: mk.height,
        });
      tally(report.masks, !unchanged);
    }
    return report;
  });
}
