/**
 * Writes the rated parts of a dataset (see ./format.ts for the layout) into the export's temporary folder, through
 * the VOC exporter's `extend` hook: the whole folder, VOC part included, appears at its final path in one rename or
 * not at all.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { VERSION } from '../../cli/version.js';
import { type ExportExtension, type ExportReport, exportDataset } from '../../data/export/export.js';
import type { VocAnnotation } from '../../data/types.js';
import { formatVoc } from '../../data/voc/write.js';
import type {
  ExplanationMeta,
  ImageRecord,
  Rater,
  Rating,
  ReviewItem,
  Run,
  Store,
} from '../../store/index.js';
import { encodeGreyPng } from '../png.js';
import {
  csvField,
  EXTRAS,
  type ExplanationDoc,
  type Extra,
  FILES,
  GT_FOLDER,
  IMPORTED_RUN_KEY,
  type ItemDoc,
  jsonFile,
  type Manifest,
  type MaskDoc,
  metricToDoc,
  type PersonDoc,
  RATED_FORMAT,
  RATED_MANIFEST,
  RATED_VERSION,
  type RatingDoc,
  type RunDoc,
  type SessionDoc,
  uniqueFolder,
} from './format.js';

export interface RatedExportOptions {
  with: readonly Extra[];
  onProgress?: (done: number, total: number) => void;
}

export interface RatedExportReport extends ExportReport {
  with: Extra[];
  people: number;
  runs: number;
  explanations: number;
  sessions: number;
  ratings: number;
  annotatorBoxes: number;
  extraMasks: number;
  /** What could not be exported as asked (e.g. session items about images of another dataset). */
  warnings: string[];
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Min–max scaling to 16 bits; NaN and ±Infinity become 0 (their raw values are in the .f32 file). */
function mapToGrey16(values: Float32Array | Uint8Array): {
  pixels: Uint16Array;
  min: number | null;
  max: number | null;
} {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const pixels = new Uint16Array(values.length);
  if (min > max) return { pixels, min: null, max: null };
  const span = max - min;
  if (span > 0) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      pixels[i] = Number.isFinite(v) ? Math.round(((v - min) / span) * 65535) : 0;
    }
  }
  return { pixels, min, max };
}

function decodeValues(e: {
  encoding: string;
  data: Buffer;
  width: number;
  height: number;
}): Float32Array | Uint8Array | null {
  const n = e.width * e.height;
  if (e.encoding === 'f32le' && e.data.length === n * 4) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = e.data.readFloatLE(i * 4);
    return out;
  }
  if (e.encoding === 'u8' && e.data.length === n) return new Uint8Array(e.data);
  return null;
}

function hashFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => byText(a.name, b.name))) {
      const p = join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else {
        const rel = relative(root, p).split(sep).join('/');
        if (rel !== RATED_MANIFEST) out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex');
      }
    }
  };
  walk(root);
  return out;
}

function write(root: string, rel: string, data: string | Uint8Array): void {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
}

function runDoc(ref: string, r: Run): RunDoc {
  const { [IMPORTED_RUN_KEY]: _, ...config } = r.config;
  return {
    ref,
    model: r.model,
    config,
    engine: r.engine,
    device: r.device,
    status: r.status,
    error: r.error,
    phase: r.phase,
    epoch: r.epoch,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

/** Everything the extension writes, gathered from the store before a file is written. */
function writeExtras(
  store: Store,
  extras: ReadonlySet<Extra>,
  dir: string,
  images: readonly ImageRecord[],
  ids: readonly string[],
  warnings: string[],
) {
  const vocId = new Map(images.map((im, i) => [im.id, ids[i]]));
  const people = new Map<number, Rater>();
  const person = (id: number): Rater => {
    let p = people.get(id);
    if (p === undefined) {
      p = store.ratings.getRater(id);
      if (p === undefined) throw new Error(`rater ${id} is referenced but missing from ${store.path}`);
      people.set(id, p);
    }
    return p;
  };

  // Explanations of the dataset's images; which of them are written depends on the extras.
  const allExpl = new Map<number, ExplanationMeta>();
  for (const im of images) for (const e of store.explanations.listForImage(im.id)) allExpl.set(e.id, e);
  const wanted = new Set<number>(extras.has('explanations') ? allExpl.keys() : []);

  // Ratings side: sessions touching the dataset, their items on its images, and every rating of its explanations.
  const ratings: Rating[] = [];
  const sessionItems = new Map<number, ReviewItem[]>();
  if (extras.has('ratings')) {
    for (const r of store.ratings.list()) {
      if (!allExpl.has(r.explanationId)) continue;
      ratings.push(r);
      wanted.add(r.explanationId);
      person(r.raterId);
    }
    for (const s of store.ratings.listSessions()) {
      const items = store.ratings.items(s.id);
      const inside = items.filter((it) => allExpl.has(it.explanationId));
      if (inside.length === 0) continue;
      if (inside.length < items.length) {
        warnings.push(
          `review session ${s.id} "${s.name}": ${items.length - inside.length} of its items are about images of other datasets and were not exported`,
        );
      }
      sessionItems.set(s.id, inside);
      for (const it of inside) {
        wanted.add(it.explanationId);
        person(it.raterId);
      }
    }
  }

  // Runs and explanation refs: ordered by content (run order by id is kept by an import), never by raw ids.
  const runIds = [...new Set([...wanted].map((id) => allExpl.get(id)!.runId))].sort((a, b) => a - b);
  const runRef = new Map(runIds.map((id, i) => [id, `run-${i + 1}`]));
  const explList = [...wanted]
    .map((id) => allExpl.get(id)!)
    .sort(
      (a, b) =>
        byText(runRef.get(a.runId)!, runRef.get(b.runId)!) ||
        byText(vocId.get(a.imageId)!, vocId.get(b.imageId)!) ||
        byText(a.method, b.method) ||
        a.classIndex - b.classIndex ||
        byText(a.paramsHash, b.paramsHash),
    );
  const explRef = new Map(explList.map((e, i) => [e.id, `e${i + 1}`]));

  // Boxes and masks drawn by people.
  const boxes = new Map<number, { image: string; ann: VocAnnotation }[]>();
  const masks: {
    doc: Omit<MaskDoc, 'file'>;
    personId: number | null;
    content: { png: Buffer } | { relPath: string };
  }[] = [];
  if (extras.has('masks')) {
    const ds = store.datasets.getById(images[0]?.datasetId ?? 0);
    images.forEach((im, i) => {
      const byPerson = new Map<number, VocAnnotation>();
      for (const o of store.objects.list(im.id)) {
        if (o.source.kind !== 'annotator') continue;
        const pid = o.source.annotatorId;
        let ann = byPerson.get(pid);
        if (ann === undefined) {
          ann = {
            folder: `Annotations-${pid}`,
            filename: `${ids[i]}${extname(im.relPath).toLowerCase()}`,
            source: { database: ds?.name ?? 'Unknown', annotation: `xwb annotator: ${person(pid).name}` },
            size: { width: im.width, height: im.height, depth: im.channels },
            segmented: false,
            objects: [],
          };
          byPerson.set(pid, ann);
        }
        ann.objects.push(o.object);
      }
      for (const [pid, ann] of byPerson) boxes.set(pid, [...(boxes.get(pid) ?? []), { image: ids[i], ann }]);
      for (const m of store.masks.list(im.id)) {
        if (m.source.kind === 'gt' && m.kind === 'class') continue; // in SegmentationClass/ already
        const personId = m.source.kind === 'annotator' ? m.source.annotatorId : null;
        if (personId !== null) person(personId);
        masks.push({
          doc: {
            image: ids[i],
            person: personId === null ? null : person(personId).name,
            kind: m.kind,
            width: m.width,
            height: m.height,
          },
          personId,
          content: m.content,
        });
      }
    });
  }

  // people.json: names sorted; folders assigned in that order so they are stable.
  const peopleList = [...people.values()].sort(
    (a, b) => byText(a.name.toLowerCase(), b.name.toLowerCase()) || byText(a.name, b.name),
  );
  const taken = new Set<string>([GT_FOLDER]);
  const folderOf = new Map<number, string>();
  const peopleDocs: PersonDoc[] = peopleList.map((p) => {
    const folder = uniqueFolder(p.name, taken);
    folderOf.set(p.id, folder);
    return { name: p.name, createdAt: p.createdAt, folder };
  });
  if (peopleDocs.length > 0 || extras.size > 0) write(dir, FILES.people, jsonFile({ people: peopleDocs }));

  let annotatorBoxes = 0;
  for (const [pid, list] of boxes) {
    const folder = folderOf.get(pid)!;
    for (const { image, ann } of list) {
      ann.folder = `Annotations-${folder}`;
      write(dir, `Annotations-${folder}/${image}.xml`, formatVoc(ann));
      annotatorBoxes += ann.objects.length;
    }
  }
  if (extras.has('masks')) {
    const sourceDir = store.datasets.getById(images[0]?.datasetId ?? 0)?.sourcePath ?? '';
    const docs: MaskDoc[] = masks
      .sort(
        (a, b) =>
          byText(a.doc.image, b.doc.image) ||
          byText(a.doc.person ?? '', b.doc.person ?? '') ||
          byText(a.doc.kind, b.doc.kind),
      )
      .map((m) => {
        const folder = m.personId === null ? GT_FOLDER : folderOf.get(m.personId)!;
        const file = `masks/${folder}/${m.doc.kind}/${m.doc.image}.png`;
        if ('png' in m.content) write(dir, file, m.content.png);
        else {
          mkdirSync(dirname(join(dir, file)), { recursive: true });
          copyFileSync(join(sourceDir, m.content.relPath), join(dir, file));
        }
        return { ...m.doc, file };
      });
    write(dir, FILES.masks, jsonFile({ masks: docs }));
  }

  if (explList.length > 0 || extras.has('explanations') || extras.has('ratings')) {
    const usedFiles = new Set<string>();
    const explDocs: ExplanationDoc[] = explList.map((meta) => {
      const e = store.explanations.getById(meta.id)!;
      const slug = e.method.replace(/[^A-Za-z0-9._-]+/g, '_');
      const base = `explanations/${runRef.get(e.runId)}/${vocId.get(e.imageId)}/${slug}-c${e.classIndex}-${e.paramsHash.slice(0, 12)}`;
      if (usedFiles.has(base))
        throw new Error(`export: two explanations map to ${base}; rename one of the methods`);
      usedFiles.add(base);
      const file = `${base}.${e.encoding === 'f32le' ? 'f32' : 'raw'}`;
      write(dir, file, e.data);
      const values = decodeValues(e);
      let png: string | null = null;
      let min: number | null = null;
      let max: number | null = null;
      if (values !== null) {
        const g = mapToGrey16(values);
        png = `${base}.png`;
        write(dir, png, encodeGreyPng(g.pixels, e.width, e.height));
        min = g.min;
        max = g.max;
      }
      return {
        ref: explRef.get(e.id)!,
        run: runRef.get(e.runId)!,
        image: vocId.get(e.imageId)!,
        classIndex: e.classIndex,
        method: e.method,
        params: e.params,
        width: e.width,
        height: e.height,
        encoding: e.encoding,
        file,
        png,
        min,
        max,
        metrics: store.explanations
          .metrics(e.id)
          .map((m) => ({ metric: m.metric, params: m.params, value: metricToDoc(m.value) })),
      };
    });
    const runDocs = runIds.map((id) => runDoc(runRef.get(id)!, store.runs.get(id)!));
    write(dir, FILES.explanations, jsonFile({ runs: runDocs, explanations: explDocs }));
  }

  let sessionCount = 0;
  if (extras.has('ratings')) {
    const sessions = [...sessionItems.keys()].sort((a, b) => a - b);
    const sessionRef = new Map(sessions.map((id, i) => [id, `session-${i + 1}`]));
    sessionCount = sessions.length;
    const itemById = new Map<number, ReviewItem>();
    const sessionDocs: SessionDoc[] = sessions.map((id) => {
      const s = store.ratings.getSession(id)!;
      const items = sessionItems.get(id)!;
      for (const it of items) itemById.set(it.id, it);
      const itemDocs: ItemDoc[] = items
        .map((it) => ({
          rater: person(it.raterId).name,
          explanation: explRef.get(it.explanationId)!,
          position: it.position,
          side: it.side,
          createdAt: it.createdAt,
        }))
        .sort((a, b) => byText(a.rater, b.rater) || a.position - b.position);
      return {
        ref: sessionRef.get(id)!,
        name: s.name,
        config: s.config,
        blinded: s.blinded,
        createdAt: s.createdAt,
        items: itemDocs,
      };
    });
    const ratingDocs: RatingDoc[] = ratings.map((r) => {
      const item = r.reviewItemId === null ? undefined : itemById.get(r.reviewItemId);
      const e = allExpl.get(r.explanationId)!;
      return {
        session: item ? sessionRef.get(item.sessionId)! : null,
        position: item ? item.position : null,
        rater: person(r.raterId).name,
        explanation: explRef.get(r.explanationId)!,
        image: vocId.get(e.imageId)!,
        run: runRef.get(e.runId)!,
        method: e.method,
        classIndex: e.classIndex,
        correctness: r.correctness,
        completeness: r.completeness,
        compactness: r.compactness,
        comment: r.comment,
        wrongFlag: r.wrongFlag,
        createdAt: r.createdAt,
        updatedAt: r.updatedAt,
        history: store.ratings.history(r.id).map(({ ratingId: _, ...h }) => h),
      };
    });
    ratingDocs.sort(
      (a, b) =>
        Number(a.session === null) - Number(b.session === null) ||
        byText(a.session ?? '', b.session ?? '') ||
        byText(a.rater, b.rater) ||
        (a.position ?? 0) - (b.position ?? 0) ||
        byText(a.explanation, b.explanation),
    );
    write(dir, FILES.ratingsJson, jsonFile({ sessions: sessionDocs, ratings: ratingDocs }));
    const sessionName = new Map(sessionDocs.map((s) => [s.ref, s.name]));
    const header = [
      'session',
      'session_name',
      'rater',
      'position',
      'image',
      'run',
      'method',
      'class_index',
      'explanation',
      'correctness',
      'completeness',
      'compactness',
      'comment',
      'wrong_flag',
      'created_at',
      'updated_at',
      'revisions',
    ];
    const lines = ratingDocs.map((r) =>
      [
        r.session,
        r.session === null ? null : sessionName.get(r.session)!,
        r.rater,
        r.position,
        r.image,
        r.run,
        r.method,
        r.classIndex,
        r.explanation,
        r.correctness,
        r.completeness,
        r.compactness,
        r.comment,
        r.wrongFlag ? 1 : 0,
        r.createdAt,
        r.updatedAt,
        r.history.length,
      ]
        .map(csvField)
        .join(','),
    );
    write(dir, FILES.ratingsCsv, `${[header.join(','), ...lines].join('\r\n')}\r\n`);
  }
  return {
    people: peopleDocs.length,
    runs: runIds.length,
    explanations: explList.length,
    sessions: sessionCount,
    ratings: ratings.length,
    annotatorBoxes,
    extraMasks: masks.length,
  };
}

/** Exports a dataset as VOC plus the rated extras asked for, with a checksummed manifest. */
export function exportRatedDataset(
  store: Store,
  datasetId: number,
  outDir: string,
  opts: RatedExportOptions,
): RatedExportReport {
  const extras = new Set(opts.with);
  for (const x of extras) {
    if (!EXTRAS.includes(x))
      throw new Error(`export: unknown --with part "${x}" (choose from ${EXTRAS.join(', ')})`);
  }
  const warnings: string[] = [];
  let counts: ReturnType<typeof writeExtras> | undefined;
  let datasetName = '';
  const extend: ExportExtension = ({ dir, dataset, images, ids }) => {
    datasetName = dataset.name;
    counts = writeExtras(store, extras, dir, images, ids, warnings);
    const manifest: Manifest = {
      format: RATED_FORMAT,
      version: RATED_VERSION,
      xwbVersion: VERSION,
      storeSchemaVersion: store.schemaVersion,
      dataset: datasetName,
      with: EXTRAS.filter((x) => extras.has(x)),
      exportedAt: new Date().toISOString(),
      files: hashFiles(dir),
    };
    writeFileSync(join(dir, RATED_MANIFEST), jsonFile(manifest));
  };
  const report = exportDataset(store, datasetId, outDir, { onProgress: opts.onProgress, extend });
  return { ...report, with: EXTRAS.filter((x) => extras.has(x)), ...counts!, warnings };
}
