/**
 * The import fuzz run: writes each seeded case of corpus.ts as a folder, imports it in a child process
 * (child.ts) under a per-case time bound, and checks what a hostile file may never do:
 *   - crash: the child dies, or the import throws anything but ImportError / DatasetLayoutError;
 *   - hang: one case takes longer than the bound (the child is killed and replaced);
 *   - unnamed: a hostile file neither stored nor named with its problem (in the report's errors or warnings,
 *     or in the ImportError of an import that could read nothing); a warning without a file;
 *   - store changed by a failed import: an SQLite dump of every table (a separate read-only connection) differs
 *     before and after an import that threw;
 *   - untrainable: an image the import stored that the training decoder cannot read;
 *   - expectation: a broken image stored, or a valid one (CMYK, 16-bit, EXIF-rotated, …) refused.
 * Used by bench/fuzz-import.ts (the full run, printed figures) and test/data/import/fuzz.test.ts (a slice).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';
import type { ChildReply, ChildRequest } from './child.js';
import { type Assets, type FuzzCase, makeAssets, makeCase } from './corpus.js';

export interface FuzzOptions {
  seed: number;
  count: number;
  /** Scratch folder: case folders and store files go here (removed as the run goes). */
  dir: string;
  /** Per-case bound on one import, in ms: longer is a hang. */
  caseTimeoutMs?: number;
  /** A fresh store file every this many cases, so the before/after dump stays small. */
  casesPerStore?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface KindFigures {
  cases: number;
  /** The hostile file went into the store (repaired or intact). */
  stored: number;
  /** It was skipped, named with its problem, and the rest of the folder imported. */
  skipped: number;
  /** Nothing in the folder could be read: the import refused it, store untouched. */
  refused: number;
}

export interface FuzzFigures {
  seed: number;
  cases: number;
  xmlCases: number;
  imageCases: number;
  /** Total bytes of all case files written. */
  bytes: number;
  crashes: number;
  hangs: number;
  unnamed: number;
  storeChangedByFailure: number;
  untrainable: number;
  expectationMismatches: number;
  /** Failed imports whose store dump was compared before and after. */
  failedImportsCompared: number;
  byMutator: Record<string, KindFigures>;
  caseMs: { median: number; p99: number; max: number; maxKind: string };
  peakChildRssMb: number;
  seconds: number;
  /** The first problems found, for the report (empty when the run is clean). */
  examples: string[];
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.ts');

class Importer {
  private child: ChildProcess | undefined;
  restarts = 0;

  private spawn(): ChildProcess {
    // The harness runs under tsx; the child inherits its loader through execArgv.
    const c = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: process.execArgv });
    c.stderr?.resume();
    return c;
  }

  /** Imports one folder; resolves with the reply, or with 'hang' / 'crash' when the child did not answer. */
  run(req: ChildRequest, timeoutMs: number): Promise<ChildReply | { hang: true } | { crash: string }> {
    this.child ??= this.spawn();
    const c = this.child;
    return new Promise((resolve) => {
      const done = (v: ChildReply | { hang: true } | { crash: string }) => {
        clearTimeout(timer);
        c.off('message', onMessage);
        c.off('exit', onExit);
        resolve(v);
      };
      const onMessage = (m: ChildReply) => done(m);
      const onExit = (code: number | null, signal: string | null) => {
        this.child = undefined;
        this.restarts++;
        done({ crash: `the import process exited (code ${code}, signal ${signal})` });
      };
      const timer = setTimeout(() => {
        c.off('exit', onExit);
        c.kill('SIGKILL');
        this.child = undefined;
        this.restarts++;
        done({ hang: true });
      }, timeoutMs);
      c.on('message', onMessage);
      c.on('exit', onExit);
      c.send(req);
    });
  }

  close(): void {
    this.child?.disconnect();
    this.child = undefined;
  }
}

/** Every row of every table, hashed: what "the store is unchanged" compares. */
export function dumpStore(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const hash = createHash('sha256');
    const tables = db
      .prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .pluck()
      .all() as string[];
    for (const t of tables) {
      hash.update(`\u0000${t}\u0000`);
      for (const row of db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).raw().iterate()) {
        hash.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
      }
    }
    return hash.digest('hex');
  } finally {
    db.close();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function writeCase(dir: string, c: FuzzCase): number {
  fs.mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (const f of c.files) {
    fs.writeFileSync(path.join(dir, f.rel), f.data);
    bytes += f.data.length;
  }
  return bytes;
}

export async function runFuzz(opts: FuzzOptions, assets?: Assets): Promise<FuzzFigures> {
  const started = performance.now();
  const timeout = opts.caseTimeoutMs ?? 10_000;
  const perStore = opts.casesPerStore ?? 250;
  const a = assets ?? (await makeAssets());
  fs.mkdirSync(opts.dir, { recursive: true });
  const importer = new Importer();
  const fig: FuzzFigures = {
    seed: opts.seed,
    cases: 0,
    xmlCases: 0,
    imageCases: 0,
    bytes: 0,
    crashes: 0,
    hangs: 0,
    unnamed: 0,
    storeChangedByFailure: 0,
    untrainable: 0,
    expectationMismatches: 0,
    failedImportsCompared: 0,
    byMutator: {},
    caseMs: { median: 0, p99: 0, max: 0, maxKind: '' },
    peakChildRssMb: 0,
    seconds: 0,
    examples: [],
  };
  const problem = (c: FuzzCase, what: string) => {
    if (fig.examples.length < 20) fig.examples.push(`case ${c.index} (${c.kind}): ${what}`);
  };
  const times: number[] = [];
  let storePath = '';
  let before = '';
  try {
    for (let i = 0; i < opts.count; i++) {
      if (i % perStore === 0) {
        if (storePath) fs.rmSync(path.dirname(storePath), { recursive: true, force: true });
        storePath = path.join(opts.dir, `store-${i}`, 'xwb.db');
        openStore(storePath).close();
        before = dumpStore(storePath);
      }
      const c = makeCase(opts.seed, i, a);
      const caseDir = path.join(opts.dir, `case-${i}`);
      fig.bytes += writeCase(caseDir, c);
      fig.cases++;
      if (c.kind.startsWith('image:')) fig.imageCases++;
      else fig.xmlCases++;
      const t0 = performance.now();
      const reply = await importer.run({ storePath, dir: caseDir, name: `case-${i}` }, timeout);
      const ms = performance.now() - t0;
      times.push(ms);
      if (ms > fig.caseMs.max) fig.caseMs = { ...fig.caseMs, max: ms, maxKind: c.kind };
      const mutators = c.kind.startsWith('image:')
        ? [c.kind]
        : c.kind
            .slice(4)
            .split('+')
            .map((m) => `xml:${m}`);
      const tally = (field: keyof KindFigures) => {
        for (const m of new Set(mutators)) {
          const k = fig.byMutator[m] ?? { cases: 0, stored: 0, skipped: 0, refused: 0 };
          fig.byMutator[m] = k;
          k.cases++;
          if (field !== 'cases') k[field]++;
        }
      };
      const after = dumpStore(storePath);
      if ('hang' in reply) {
        fig.hangs++;
        problem(c, `no answer within ${timeout} ms`);
        tally('cases');
      } else if ('crash' in reply) {
        fig.crashes++;
        problem(c, reply.crash);
        tally('cases');
      } else {
        fig.peakChildRssMb = Math.max(fig.peakChildRssMb, reply.rss / 2 ** 20);
        const subjectFiles = c.subjects.map((s) => path.join(caseDir, s));
        if (!reply.ok) {
          if (reply.errorName !== 'ImportError' && reply.errorName !== 'DatasetLayoutError') {
            fig.crashes++;
            problem(c, `unexpected ${reply.errorName}: ${reply.message}`);
          }
          fig.failedImportsCompared++;
          if (after !== before) {
            fig.storeChangedByFailure++;
            problem(c, 'the store changed although the import failed');
          }
          const named = reply.problems.map((p) => p.file);
          for (const f of subjectFiles) {
            // The image's problem names the image, an annotation's names the .xml; either names this pair.
            const pair = [f, f.replace(/\.[^.]+$/, '.xml'), f.replace(/\.xml$/, '.png')];
            if (!named.some((n) => pair.includes(n)) && !reply.message.includes(caseDir)) {
              fig.unnamed++;
              problem(c, `${f} skipped without being named (${reply.message})`);
            }
          }
          tally('refused');
        } else {
          const rels = new Set(reply.stored);
          const errorFiles = new Set(reply.errors.map((e) => e.file));
          let stored = false;
          for (const s of c.subjects) {
            const image = s.endsWith('.xml') ? 'a.png' : s;
            const file = path.join(caseDir, s);
            if (rels.has(image)) stored = true;
            else if (
              !errorFiles.has(file) &&
              !errorFiles.has(path.join(caseDir, image)) &&
              !errorFiles.has(path.join(caseDir, 'a.xml'))
            ) {
              fig.unnamed++;
              problem(c, `${file} is neither stored nor named among the skipped files`);
            }
          }
          for (const w of reply.warnings) {
            if (!w.file) {
              fig.unnamed++;
              problem(c, `a warning names no file: ${w.message}`);
            }
          }
          for (const u of reply.untrainable) {
            fig.untrainable++;
            problem(c, `stored but training cannot decode it: ${u}`);
          }
          tally(stored ? 'stored' : 'skipped');
          if ((c.expect === 'accept' && !stored) || (c.expect === 'refuse' && stored)) {
            fig.expectationMismatches++;
            problem(
              c,
              `expected the image to be ${c.expect === 'accept' ? 'stored' : 'refused'}: ${reply.errors.map((e) => e.message).join('; ')}`,
            );
          }
        }
        if (!reply.ok && c.expect === 'accept') {
          fig.expectationMismatches++;
          problem(c, `expected the image to be stored: ${reply.message}`);
        }
      }
      before = after;
      fs.rmSync(caseDir, { recursive: true, force: true });
      opts.onProgress?.(i + 1, opts.count);
    }
  } finally {
    importer.close();
    if (storePath) fs.rmSync(path.dirname(storePath), { recursive: true, force: true });
  }
  times.sort((x, y) => x - y);
  fig.caseMs = { ...fig.caseMs, median: percentile(times, 0.5), p99: percentile(times, 0.99) };
  fig.seconds = (performance.now() - started) / 1000;
  return fig;
}
