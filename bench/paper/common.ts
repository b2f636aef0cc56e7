/**
 * Shared plumbing of the paper-reproduction scripts: where the output lives, how the xwb CLI is run, and the one
 * results file every stage reads and extends (so each stage can be re-run and skips what is already there).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Everything the experiments write, outside the repository (override with XWB_PAPER_OUT). */
export const OUT = path.resolve(process.env.XWB_PAPER_OUT ?? '/tmp/xwb-paper');
export const DB = path.join(OUT, 'store', 'xwb.db');
export const RESULTS = path.join(OUT, 'results.json');
export const LOGS = path.join(OUT, 'logs');

/** The post-hoc methods compared with the explainer (Rio-Torto Fig. 6) and Rieger's diffusion methods. */
export const POST_HOC = [
  'gradient',
  'smoothgrad',
  'guided_backprop',
  'deconvnet',
  'lrp_epsilon_plus',
  'deep_taylor',
  'gradcam',
  'integrated_gradients',
  'occlusion',
] as const;
/** The L1 sweep at the paper's budget (train.ts), in the order it is run: the paper's chosen factor first. */
export const BUDGET_FACTORS = [1e-6, 0, 1e-4, 1e-8] as const;
export const budgetKey = (w: number): string => `budget-l1-${w === 0 ? '0' : w.toExponential()}`;
/**
 * The same sweep with the frozen classifier's batch norm on its stored statistics in the explainer phase
 * (`--frozen-statistics`), where a uniformly dimmed map is not undone by batch statistics. 5e-6 (λ ≈ 2) first: it
 * is the factor a short test found to single out the triangle. `short` is 5 + 5 epochs instead of 27 + 27.
 */
export const FROZEN_FACTORS = [5e-6, 1e-6, 0, 1e-4, 1e-8] as const;
export const frozenKey = (w: number, short: boolean): string =>
  `${short ? 'short' : 'budget'}-fs-l1-${w === 0 ? '0' : w.toExponential()}`;
/** Rieger §6: fine-tuning with the block-diagonal L1 at her λ values; 0 is the unpenalised control. */
export const RIEGER_FT_LAMBDAS = [0, 0.1, 0.5, 1, 5] as const;
export const riegerFtKey = (lambda: number): string => `rieger-ft-${lambda}`;
/** Upper bound of a Rieger phase; early stopping (three epochs without a better validation loss) ends it. */
export const RIEGER_MAX_EPOCHS = 30;
export const RIEGER_METHODS = ['gradient', 'lrp_epsilon_plus', 'deep_taylor'] as const;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Results = Record<string, Record<string, Json>>;

export function readResults(): Results {
  if (!fs.existsSync(RESULTS)) return {};
  try {
    return JSON.parse(fs.readFileSync(RESULTS, 'utf8')) as Results;
  } catch (e) {
    throw new Error(`${RESULTS}: not valid JSON (${(e as Error).message}); fix or delete it to start over`);
  }
}

/**
 * Merges one entry into the results file. Read-modify-write each time (several stages may run one after the
 * other in separate processes) and atomic (temp file + rename) so a crash never leaves half a file.
 */
export function saveResult(section: string, key: string, value: Json): void {
  const all = readResults();
  all[section] = { ...(all[section] ?? {}), [key]: value };
  const tmp = `${RESULTS}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
  fs.renameSync(tmp, RESULTS);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `xwb <args>` from source on the wasm engine, teeing stdout/stderr to `logFile` as it goes (a long run can
 * be watched with tail -f, and a crash leaves its log behind).
 */
export function xwb(args: readonly string[], logFile: string): Promise<CliResult> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  log.write(`\n$ xwb ${args.join(' ')}  # ${new Date().toISOString()}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO, 'src', 'cli', 'run.ts'), ...args],
      {
        cwd: REPO,
        env: { ...process.env, XWB_ENGINE: process.env.XWB_ENGINE ?? 'wasm' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      log.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      log.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      log.end();
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Dataset id by name from `xwb datasets --json`, or null when it is not imported yet. */
export async function datasetId(name: string): Promise<number | null> {
  const r = await xwb(['datasets', '--db', DB, '--json'], path.join(LOGS, 'datasets.log'));
  if (r.code !== 0) {
    if (!fs.existsSync(DB)) return null;
    throw new Error(`xwb datasets failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  const parsed = JSON.parse(r.stdout) as
    | { datasets?: { id: number; name: string }[] }
    | { id: number; name: string }[];
  const list = Array.isArray(parsed) ? parsed : (parsed.datasets ?? []);
  return list.find((d) => d.name === name)?.id ?? null;
}

/** Generates a synthetic set with `xwb generate` unless its folder is already complete. */
export async function ensureGenerated(dir: string, args: readonly string[]): Promise<void> {
  if (fs.existsSync(path.join(dir, 'xwb-generator.json'))) return;
  fs.rmSync(dir, { recursive: true, force: true });
  const r = await xwb(['generate', dir, ...args, '--json'], path.join(LOGS, 'generate.log'));
  if (r.code !== 0) throw new Error(`xwb generate ${dir} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/** Imports a folder under `name` unless the store already has a dataset of that name; returns its id. */
export async function ensureImported(
  dir: string,
  name: string,
  extra: readonly string[] = [],
): Promise<number> {
  const known = await datasetId(name);
  if (known !== null) return known;
  const r = await xwb(
    ['import', dir, '--name', name, '--db', DB, ...extra, '--json'],
    path.join(LOGS, 'import.log'),
  );
  if (r.code !== 0) throw new Error(`xwb import ${dir} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return (JSON.parse(r.stdout) as { dataset: { id: number } }).dataset.id;
}
