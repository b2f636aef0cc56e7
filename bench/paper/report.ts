/**
 * Prints the reproduction's tables as Markdown from results.json (train.ts + evaluate.ts), for
 * docs/paper-reproduction.md. Missing runs print as "not run"; nothing is computed here but formatting.
 *
 * Run: node --import tsx bench/paper/report.ts
 */
import {
  BUDGET_FACTORS,
  budgetKey,
  FROZEN_FACTORS,
  frozenKey,
  POST_HOC,
  RIEGER_FT_LAMBDAS,
  RIEGER_METHODS,
  readResults,
  riegerFtKey,
} from './common.js';

interface Row {
  method: string;
  metric: string;
  mean: number | null;
  ci95: [number | null, number | null];
  n: number;
  nanCount: number;
}
interface Phase {
  phase: string;
  epochs: number;
  plannedEpochs: number;
  stoppedBy: string | null;
  best: { epoch: number; valAcc: number } | null;
  final: { valAcc: number } | null;
  seconds: number;
  imagesPerSecond: number;
}
interface Run {
  label: string;
  runId: number;
  status: string;
  seconds: number;
  phases: Phase[];
  warnings: string[];
}
interface Eval {
  val: { accuracy: number; predictedShare: Record<string, number>; checkpoint: string };
  measured: { images: number; raw: Row[]; maxabs: Row[] };
}

const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '–' : v.toFixed(d));
const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)}%`;

function cell(rows: Row[] | undefined, method: string, metric: string): string {
  const r = rows?.find((x) => x.method === method && x.metric === metric);
  if (!r) return '–';
  return r.ci95[0] === null ? f(r.mean) : `${f(r.mean)} ±${f((r.ci95[1]! - r.ci95[0]!) / 2)}`;
}

function localisationCells(e: Eval | undefined, method: string): string[] {
  return [
    cell(e?.measured.raw, method, 'relevance-mass-accuracy'),
    cell(e?.measured.raw, method, 'pointing-game'),
    cell(e?.measured.raw, method, 'threshold-iou'),
    cell(e?.measured.raw, method, 'fraction-explained'),
    cell(e?.measured.maxabs, method, 'threshold-iou'),
    cell(e?.measured.maxabs, method, 'fraction-explained'),
  ];
}

function table(header: string[], body: string[][]): string {
  const line = (c: string[]) => `| ${c.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join('\n');
}

function phaseText(p: Phase): string {
  const stop = p.stoppedBy ? `, stopped: ${p.stoppedBy}` : '';
  return `${p.phase} ${p.epochs}/${p.plannedEpochs} ep, best val ${pct(p.best?.valAcc)} (ep ${p.best?.epoch ?? '–'})${stop}, ${p.imagesPerSecond.toFixed(1)} img/s`;
}

/** The paper's budget with today's defaults: the shared classifier phase, the L1 sweep, the post-hoc methods. */
function budgetSection(
  runs: Record<string, Run>,
  evals: Record<string, Eval>,
  title = "The paper's budget with today's defaults (Rio-Torto set, 64 px, base 16)",
  sweep: string[] = BUDGET_FACTORS.map(budgetKey),
  postHoc = true,
): string[] {
  const keys = ['budget-classifier', ...sweep];
  if (!sweep.some((k) => k in runs)) return [];
  const out: string[] = [`### ${title}\n`];
  out.push(
    table(
      ['experiment', 'run', 'phases', 'minutes'],
      keys.map((k) => {
        const r = runs[k];
        if (!r) return [k, '–', 'not run', '–'];
        if (r.status !== 'done') return [r.label, '–', `not run (${r.status})`, '–'];
        return [r.label, String(r.runId), r.phases.map(phaseText).join('; '), (r.seconds / 60).toFixed(1)];
      }),
    ),
  );
  const metrics = ['relevance-mass-accuracy', 'roc-auc', 'pointing-game'] as const;
  const header = ['mass in box ↑', 'ROC-AUC ↑', 'pointing ↑'];
  out.push('\n#### Accuracy and the maps (positive validation images, class "triangle")\n');
  out.push(
    table(
      ['experiment', 'val acc', 'predicts "triangle"', ...header, ...header.map((h) => `gradient ${h}`)],
      keys.map((k) => {
        const e = evals[k];
        const label = runs[k]?.label ?? k;
        if (!e) return [label, '–', '–', ...header.flatMap(() => ['–', '–'])];
        const explainer =
          k === 'budget-classifier'
            ? header.map(() => 'n/a')
            : metrics.map((m) => cell(e.measured.raw, 'explainer', m));
        return [
          label,
          pct(e.val.accuracy),
          pct(e.val.predictedShare.triangle),
          ...explainer,
          ...metrics.map((m) => cell(e.measured.raw, 'gradient', m)),
        ];
      }),
    ),
  );
  const e = evals['budget-classifier'];
  if (e && postHoc) {
    out.push('\n#### Post-hoc methods on the shared classifier phase (white map): same metrics\n');
    out.push(
      table(
        ['method', ...header],
        POST_HOC.map((m) => [m, ...metrics.map((x) => cell(e.measured.raw, m, x))]),
      ),
    );
  }
  return out;
}

/** One row per λ: accuracy and Rieger's diffusion, raw and with each map divided by its max |value| first. */
function riegerRows(
  keys: string[],
  runs: Record<string, Run>,
  evals: Record<string, Eval>,
  label: (k: string) => string,
) {
  return keys.map((k) => {
    const e = evals[k];
    const p = runs[k]?.phases.at(-1);
    const epochs = p ? `${p.epochs}${p.stoppedBy ? ` (${p.stoppedBy})` : ''}` : '–';
    if (!e) return [label(k), epochs, '–', ...RIEGER_METHODS.flatMap(() => ['–', '–'])];
    return [
      label(k),
      epochs,
      pct(e.val.accuracy),
      ...RIEGER_METHODS.map((m) => cell(e.measured.raw, m, 'diffusion')),
      ...RIEGER_METHODS.map((m) => cell(e.measured.maxabs, m, 'diffusion')),
    ];
  });
}

/** Rieger: trained from scratch with the penalty, and her protocol (fine-tuned from one pre-trained network). */
function riegerSection(runs: Record<string, Run>, evals: Record<string, Eval>): string[] {
  const header = [
    'λ',
    'epochs',
    'val acc',
    ...RIEGER_METHODS.map((m) => `d ${m}`),
    ...RIEGER_METHODS.map((m) => `d ${m} (max-norm)`),
  ];
  const out: string[] = [];
  const scratch = Object.keys(runs).filter((k) => k.startsWith('rieger-block-'));
  if (scratch.length > 0) {
    out.push(
      '\n### Rieger: diffusion and accuracy, trained from scratch with the penalty (3 shape classes)\n',
    );
    out.push(
      table(
        header,
        riegerRows(scratch, runs, evals, (k) => k.replace('rieger-block-', '')),
      ),
    );
  }
  const ft = ['rieger-pretrained', ...RIEGER_FT_LAMBDAS.map(riegerFtKey)];
  if (ft.some((k) => k in runs)) {
    out.push('\n### Rieger: her protocol, fine-tuned from one pre-trained network (3 shape classes)\n');
    out.push(
      table(
        header,
        riegerRows(ft, runs, evals, (k) =>
          k === 'rieger-pretrained'
            ? 'pre-trained (no penalty)'
            : `${k.replace('rieger-ft-', '')}, fine-tuned`,
        ),
      ),
    );
  }
  return out;
}

function main(): void {
  const all = readResults();
  const runs = (all.runs ?? {}) as unknown as Record<string, Run>;
  const evals = (all.eval ?? {}) as unknown as Record<string, Eval>;
  const budget = [
    ...budgetSection(runs, evals),
    ...[true, false].flatMap((short) =>
      budgetSection(
        runs,
        evals,
        `${short ? 'Short sweep (5 + 5 epochs)' : "The paper's budget"} with frozen statistics in the explainer phase`,
        FROZEN_FACTORS.map((w) => frozenKey(w, short)),
        false,
      ),
    ),
  ];
  if (budget.length > 0) console.log(`${budget.join('\n')}\n`);
  const rtKeys = [
    'classifier',
    'classifier-long',
    'classifier-nobn',
    'expclass-l1-0',
    'expclass-l1-1e-8',
    'expclass-l1-1e-6',
    'expclass-l1-1e-4',
    'expclass-colour-l1-0',
  ];
  const out: string[] = [];
  out.push('### Training (Rio-Torto set, 64 px)\n');
  out.push(
    table(
      ['experiment', 'run', 'phases', 'minutes'],
      rtKeys.map((k) => {
        const r = runs[k];
        if (!r) return [k, '–', 'not run', '–'];
        if (r.status !== 'done') return [r.label, '–', `not run (${r.status})`, '–'];
        return [r.label, String(r.runId), r.phases.map(phaseText).join('; '), (r.seconds / 60).toFixed(1)];
      }),
    ),
  );
  const locHeader = [
    'mass in box ↑',
    'pointing ↑',
    'IoU@0.75 ↑',
    'explained ≥0.75',
    'IoU@0.75 (max-norm) ↑',
    'explained ≥0.75 (max-norm)',
  ];
  out.push('\n### Accuracy and the in-model explanation (positive validation images, class "triangle")\n');
  out.push(
    table(
      ['experiment', 'val acc', 'predicts "triangle"', ...locHeader],
      rtKeys
        .filter((k) => k.startsWith('expclass') || k.startsWith('classifier'))
        .map((k) => {
          const e = evals[k];
          const label = runs[k]?.label ?? k;
          if (!e) return [label, '–', '–', ...locHeader.map(() => '–')];
          const share = e.val.predictedShare.triangle;
          const loc = k.startsWith('expclass')
            ? localisationCells(e, 'explainer')
            : locHeader.map(() => 'n/a');
          return [label, pct(e.val.accuracy), pct(share), ...loc];
        }),
    ),
  );
  for (const [key, title] of [
    ['classifier', 'the classifier alone, 8 epochs (at the majority rate)'],
    ['classifier-long', 'the classifier alone, 27 epochs (trained)'],
  ] as const) {
    out.push(`\n### Post-hoc methods on ${title}: same images and metrics\n`);
    out.push(
      table(
        ['method', ...locHeader],
        [
          ...POST_HOC.map((m) => [m, ...localisationCells(evals[key], m)]),
          ['explainer (L1 1e-6 run)', ...localisationCells(evals['expclass-l1-1e-6'], 'explainer')],
        ],
      ),
    );
  }
  out.push(...riegerSection(runs, evals));
  const warnings = Object.entries(runs).flatMap(([k, r]) => r.warnings.map((w) => `- ${k}: ${w}`));
  if (warnings.length > 0) out.push(`\n### Warnings from training\n\n${warnings.join('\n')}`);
  console.log(out.join('\n'));
}

main();
