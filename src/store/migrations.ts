/**
 * The schema, as an ordered list of migrations. Each runs in its own transaction together with the
 * `PRAGMA user_version` bump, so a failure leaves the file at the previous version.
 *
 * Rules for adding one: append (never edit a released migration); version = previous + 1; prefer ADD COLUMN.
 * A migration that must rebuild a table cannot switch foreign_keys off (the pragma is a no-op inside a
 * transaction): use `PRAGMA defer_foreign_keys = ON` and the create-copy-drop-rename procedure from
 * https://www.sqlite.org/lang_altertable.html, and end with `PRAGMA foreign_key_check`.
 *
 * Design notes for v1:
 * - STRICT tables: a value of the wrong type is an error instead of being stored as something else.
 * - Times are ISO-8601 UTC text (readable in the sqlite3 shell, sortable).
 * - JSON columns are TEXT with a json_valid CHECK.
 * - Enums that are part of the product's logic (status, split, mask kind) have CHECKs; open-ended names
 *   (model, method, metric, encoding, phase) are free text validated by the code, because widening a CHECK in
 *   SQLite means rebuilding the table.
 * - `raters` holds every person who contributes: rating explanations or drawing boxes/masks (annotator_id).
 * - Splits are their own table, not an images column: an image row describes the file (import owns it and
 *   compares it to decide "unchanged"), while the split is an assignment the user makes later; keeping them apart
 *   means re-importing can never reset a split, and clearing splits never touches images.
 * - Durability of human work: everything under a rating is ON DELETE RESTRICT (deleting a dataset, run or image
 *   whose explanations are in a review is refused rather than cascading into ratings), and every change to a
 *   rating first copies the old values to rating_revisions (trigger), so no acknowledged value is ever lost.
 * - explanation_metrics.value: NULL means NaN (a metric that is undefined for this explanation, e.g. an empty
 *   ground-truth mask). Every metric row is written with a value, so NULL has no other meaning; ±Infinity is a
 *   valid REAL and round-trips.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

const json = (col: string, type: 'object' | 'array', nullable = false) =>
  nullable
    ? `${col} TEXT CHECK (${col} IS NULL OR (json_valid(${col}) AND json_type(${col}) = '${type}'))`
    : `${col} TEXT NOT NULL CHECK (json_valid(${col}) AND json_type(${col}) = '${type}')`;
const flag = (col: string, nullable = false) =>
  nullable
    ? `${col} INTEGER CHECK (${col} IS NULL OR ${col} IN (0, 1))`
    : `${col} INTEGER NOT NULL DEFAULT 0 CHECK (${col} IN (0, 1))`;
const score = (col: string) => `${col} INTEGER CHECK (${col} IS NULL OR ${col} BETWEEN 1 AND 5)`;
const source = `
  source_kind TEXT NOT NULL CHECK (source_kind IN ('gt', 'annotator')),
  annotator_id INTEGER REFERENCES raters(id) ON DELETE RESTRICT`;
// Table constraints must follow every column, so this goes last in the tables that use `source`.
const sourceCheck = `CHECK ((source_kind = 'gt') = (annotator_id IS NULL))`;
const hash = (col: string) => `${col} TEXT NOT NULL CHECK (length(${col}) = 64)`;

const v1 = `
CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
  kind TEXT NOT NULL CHECK (kind IN ('voc', 'folder', 'synthetic')),
  source_path TEXT,
  ${json('classes', 'array')},
  target_class TEXT,
  ${json('meta', 'object')},
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE raters (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE images (
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  rel_path TEXT NOT NULL CHECK (length(rel_path) > 0),
  file_name TEXT NOT NULL CHECK (length(file_name) > 0),
  width INTEGER NOT NULL CHECK (width > 0),
  height INTEGER NOT NULL CHECK (height > 0),
  channels INTEGER NOT NULL CHECK (channels BETWEEN 1 AND 4),
  format TEXT NOT NULL CHECK (length(format) > 0),
  ${hash('sha256')},
  label TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (dataset_id, rel_path)
) STRICT;
CREATE INDEX images_dataset_label ON images (dataset_id, label);
CREATE INDEX images_sha256 ON images (sha256);

CREATE TABLE splits (
  image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test'))
) STRICT;
CREATE INDEX splits_split ON splits (split);

CREATE TABLE objects (
  id INTEGER PRIMARY KEY,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  ${source},
  class_name TEXT NOT NULL CHECK (length(class_name) > 0),
  x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
  ${flag('difficult', true)},
  ${flag('truncated', true)},
  ${flag('occluded', true)},
  pose TEXT,
  ${json('attributes', 'object', true)},
  ${json('parts', 'array', true)},
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  CHECK (x1 > x0 AND y1 > y0),
  ${sourceCheck}
) STRICT;
CREATE INDEX objects_image ON objects (image_id, source_kind, annotator_id);
CREATE INDEX objects_annotator ON objects (annotator_id) WHERE annotator_id IS NOT NULL;

CREATE TABLE masks (
  id INTEGER PRIMARY KEY,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  ${source},
  kind TEXT NOT NULL CHECK (kind IN ('class', 'region', 'should-highlight')),
  png BLOB,
  rel_path TEXT,
  width INTEGER NOT NULL CHECK (width > 0),
  height INTEGER NOT NULL CHECK (height > 0),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK ((png IS NULL) <> (rel_path IS NULL)),
  ${sourceCheck}
) STRICT;
-- NULLs are distinct in a UNIQUE index, so the ground truth's NULL annotator is folded to 0.
CREATE UNIQUE INDEX masks_key ON masks (image_id, kind, source_kind, ifnull(annotator_id, 0));
CREATE INDEX masks_annotator ON masks (annotator_id) WHERE annotator_id IS NOT NULL;

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  model TEXT NOT NULL CHECK (length(model) > 0),
  ${json('config', 'object')},
  engine TEXT NOT NULL CHECK (length(engine) > 0),
  device TEXT,
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  error TEXT,
  folder TEXT,
  phase TEXT,
  epoch INTEGER CHECK (epoch IS NULL OR epoch >= 0),
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
) STRICT;
CREATE INDEX runs_dataset ON runs (dataset_id, created_at);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE run_epochs (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  phase TEXT NOT NULL CHECK (length(phase) > 0),
  epoch INTEGER NOT NULL CHECK (epoch >= 0),
  ${json('metrics', 'object')},
  seconds REAL CHECK (seconds IS NULL OR seconds >= 0),
  created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, phase, epoch)
) STRICT;

CREATE TABLE checkpoints (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  phase TEXT NOT NULL CHECK (length(phase) > 0),
  epoch INTEGER NOT NULL CHECK (epoch >= 0),
  path TEXT NOT NULL CHECK (length(path) > 0),
  val_loss REAL,
  ${flag('is_best')},
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX checkpoints_run ON checkpoints (run_id, phase, epoch);
CREATE UNIQUE INDEX checkpoints_best ON checkpoints (run_id, phase) WHERE is_best = 1;

CREATE TABLE explanations (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  class_index INTEGER NOT NULL CHECK (class_index >= 0),
  method TEXT NOT NULL CHECK (length(method) > 0),
  ${hash('params_hash')},
  ${json('params', 'object')},
  width INTEGER NOT NULL CHECK (width > 0),
  height INTEGER NOT NULL CHECK (height > 0),
  encoding TEXT NOT NULL CHECK (length(encoding) > 0),
  data BLOB NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (run_id, image_id, class_index, method, params_hash)
) STRICT;
CREATE INDEX explanations_image ON explanations (image_id);

CREATE TABLE explanation_metrics (
  explanation_id INTEGER NOT NULL REFERENCES explanations(id) ON DELETE CASCADE,
  metric TEXT NOT NULL CHECK (length(metric) > 0),
  ${hash('params_hash')},
  ${json('params', 'object')},
  value REAL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (explanation_id, metric, params_hash)
) STRICT;

CREATE TABLE review_sessions (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL CHECK (length(trim(name)) > 0),
  ${json('config', 'object')},
  ${flag('blinded')},
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE review_items (
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES review_sessions(id) ON DELETE CASCADE,
  rater_id INTEGER NOT NULL REFERENCES raters(id) ON DELETE RESTRICT,
  explanation_id INTEGER NOT NULL REFERENCES explanations(id) ON DELETE RESTRICT,
  position INTEGER NOT NULL CHECK (position >= 0),
  side TEXT CHECK (side IS NULL OR side IN ('left', 'right')),
  created_at TEXT NOT NULL,
  UNIQUE (session_id, rater_id, position)
) STRICT;
CREATE INDEX review_items_rater ON review_items (rater_id);
CREATE INDEX review_items_explanation ON review_items (explanation_id);

CREATE TABLE ratings (
  id INTEGER PRIMARY KEY,
  review_item_id INTEGER REFERENCES review_items(id) ON DELETE RESTRICT,
  explanation_id INTEGER NOT NULL REFERENCES explanations(id) ON DELETE RESTRICT,
  rater_id INTEGER NOT NULL REFERENCES raters(id) ON DELETE RESTRICT,
  ${score('correctness')},
  ${score('completeness')},
  ${score('compactness')},
  comment TEXT,
  ${flag('wrong_flag')},
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
-- One rating per review item; outside a session, one per rater and explanation.
CREATE UNIQUE INDEX ratings_item ON ratings (review_item_id) WHERE review_item_id IS NOT NULL;
CREATE UNIQUE INDEX ratings_free ON ratings (rater_id, explanation_id) WHERE review_item_id IS NULL;
CREATE INDEX ratings_explanation ON ratings (explanation_id);

-- A rating given through a review item must be by that item's rater, about that item's explanation.
CREATE TRIGGER ratings_item_consistent_insert BEFORE INSERT ON ratings
WHEN NEW.review_item_id IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM review_items r
  WHERE r.id = NEW.review_item_id AND r.rater_id = NEW.rater_id AND r.explanation_id = NEW.explanation_id)
BEGIN SELECT RAISE(ABORT, 'rating does not match its review item (rater or explanation differ)'); END;
CREATE TRIGGER ratings_item_consistent_update BEFORE UPDATE ON ratings
WHEN NEW.review_item_id IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM review_items r
  WHERE r.id = NEW.review_item_id AND r.rater_id = NEW.rater_id AND r.explanation_id = NEW.explanation_id)
BEGIN SELECT RAISE(ABORT, 'rating does not match its review item (rater or explanation differ)'); END;

CREATE TABLE rating_revisions (
  id INTEGER PRIMARY KEY,
  rating_id INTEGER NOT NULL REFERENCES ratings(id) ON DELETE RESTRICT,
  correctness INTEGER, completeness INTEGER, compactness INTEGER,
  comment TEXT,
  wrong_flag INTEGER NOT NULL,
  valid_from TEXT NOT NULL,
  replaced_at TEXT NOT NULL
) STRICT;
CREATE INDEX rating_revisions_rating ON rating_revisions (rating_id);
CREATE TRIGGER ratings_keep_history AFTER UPDATE ON ratings BEGIN
  INSERT INTO rating_revisions
    (rating_id, correctness, completeness, compactness, comment, wrong_flag, valid_from, replaced_at)
  VALUES (OLD.id, OLD.correctness, OLD.completeness, OLD.compactness, OLD.comment, OLD.wrong_flag,
    OLD.updated_at, NEW.updated_at);
END;
CREATE TRIGGER ratings_no_delete BEFORE DELETE ON ratings BEGIN
  SELECT RAISE(ABORT, 'ratings are never deleted (a clinician''s acknowledged rating must not be lost)');
END;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema: datasets, images, annotations, runs, explanations, reviews',
    up(db) {
      db.exec(v1);
    },
  },
  {
    version: 2,
    name: 'client keys on annotator boxes, so a retried add is stored once',
    up(db) {
      // A browser that sent an add, lost the answer and sends it again must not create a second box: the add
      // carries a key the browser chose, unique per annotator.
      db.exec(`
ALTER TABLE objects ADD COLUMN client_key TEXT CHECK (client_key IS NULL OR length(client_key) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX objects_client_key ON objects (annotator_id, client_key) WHERE client_key IS NOT NULL;
`);
    },
  },
  {
    version: 3,
    name: 'background jobs (export, batch explain, evaluation) with their status and progress',
    up(db) {
      // A reloaded workbench lists jobs from here; a runner that starts marks what it finds unfinished as failed.
      db.exec(`
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
  label TEXT NOT NULL,
  params TEXT NOT NULL CHECK (json_valid(params)),
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
  progress TEXT CHECK (progress IS NULL OR json_valid(progress)),
  result TEXT CHECK (result IS NULL OR json_valid(result)),
  error TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
) STRICT;
CREATE INDEX jobs_status ON jobs (status);
`);
    },
  },
  {
    version: 4,
    name: 'team accounts, their sign-in sessions, review assignments; versions on annotator boxes',
    up(db) {
      // Portable SQL on purpose (the store also runs on PostgreSQL): no STRICT, no pragmas, no json functions;
      // the code validates the values (src/store/accounts.ts). Names are stored lower-case by the code, so
      // UNIQUE needs no collation. A sign-in session keeps only the SHA-256 of its cookie secret: a copied
      // store file yields no live cookie. An account owns one rater row (its ratings and boxes); deleting the
      // account keeps the rater, so no rating is lost.
      db.exec(`
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  role TEXT NOT NULL CHECK (role IN ('owner', 'reviewer', 'viewer')),
  password_hash TEXT NOT NULL CHECK (length(password_hash) > 0),
  rater_id INTEGER NOT NULL UNIQUE REFERENCES raters(id) ON DELETE RESTRICT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE account_sessions (
  secret_hash TEXT PRIMARY KEY CHECK (length(secret_hash) = 64),
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX account_sessions_account ON account_sessions (account_id);
CREATE TABLE review_assignments (
  session_id INTEGER NOT NULL REFERENCES review_sessions(id) ON DELETE CASCADE,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  assigned_at TEXT NOT NULL,
  PRIMARY KEY (session_id, account_id)
);
CREATE INDEX review_assignments_account ON review_assignments (account_id);
ALTER TABLE objects ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
`);
    },
  },
];

/** Versions must be 1, 2, 3 … in order: a gap or a duplicate is a programming error caught at open. */
export function validateMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `migration "${m.name}" has version ${m.version}, expected ${i + 1} (versions run 1, 2, 3 …)`,
      );
    }
  });
}
