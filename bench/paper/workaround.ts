/**
 * Works around a bug in src/training/config.ts (resolveTrainConfig, around line 379): a run trained with
 * `--l1`/`--l1-keras` stores its RESOLVED config, which has every phase's default `alpha` filled in next to
 * `loss.l1`; re-resolving that stored config (loadRunModel → finalCheckpoint, i.e. `xwb explain`, `eval`,
 * `predict`, resume) then fails with "phases.explainer.alpha and loss.l1 both set the explanation weight".
 *
 * The repair drops `alpha` from the phases that train the explainer (explainer, joint) of such runs. It changes
 * nothing the run did: with loss.l1 set those phases never used their alpha (phaseObjective takes α from λ).
 * Idempotent; touches only runs that have loss.l1, in the reproduction's own store.
 */
import Database from 'better-sqlite3';

const EXPLAINER_PHASES = ['explainer', 'joint'];

interface StoredConfig {
  loss?: { l1?: unknown };
  phases?: Record<string, { alpha?: number } | undefined>;
}

/** The config without the redundant alphas, or null when it needs no repair. */
export function repairedConfig(config: StoredConfig): StoredConfig | null {
  if (config.loss?.l1 === null || config.loss?.l1 === undefined || !config.phases) return null;
  let changed = false;
  const phases: StoredConfig['phases'] = {};
  for (const [name, p] of Object.entries(config.phases)) {
    if (p && EXPLAINER_PHASES.includes(name) && 'alpha' in p) {
      const { alpha: _dropped, ...rest } = p;
      phases[name] = rest;
      changed = true;
    } else phases[name] = p;
  }
  return changed ? { ...config, phases } : null;
}

/** Repairs every affected run of the store at `dbPath`; returns the ids it changed. */
export function repairL1Configs(dbPath: string): number[] {
  const db = new Database(dbPath);
  try {
    db.pragma('busy_timeout = 10000');
    const rows = db.prepare('SELECT id, config FROM runs').all() as { id: number; config: string }[];
    const update = db.prepare('UPDATE runs SET config = ? WHERE id = ?');
    const changed: number[] = [];
    db.transaction(() => {
      for (const r of rows) {
        const fixed = repairedConfig(JSON.parse(r.config) as StoredConfig);
        if (fixed) {
          update.run(JSON.stringify(fixed), r.id);
          changed.push(r.id);
        }
      }
    })();
    return changed;
  } finally {
    db.close();
  }
}
