import type { Summary } from '../../metrics/core/summarise.js';
import type { Correlation } from '../../review/stats/correlation.js';
import type { ReviewSummary } from '../../review/summary.js';
import { type Command, intOption } from '../command.js';
import { UsageError } from '../errors.js';
import { withStore } from '../store.js';

const SUBCOMMANDS = ['summary'] as const;

const num = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const ci = (s: Summary) => `${num(s.mean, 2)} [${num(s.ci95[0], 2)}, ${num(s.ci95[1], 2)}]`;
const rho = (c: Correlation) => `${num(c.rho, 2)} (p ${Number.isFinite(c.p) ? c.p.toPrecision(2) : '–'})`;

/** Left-aligned first column, right-aligned numbers, two spaces between columns. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)];
}

export function formatSummary(s: ReviewSummary, sessionName: string | null): string[] {
  const scope = s.sessionId === null ? 'all review sessions' : `session ${s.sessionId} "${sessionName}"`;
  const out = [
    `${scope}: ${s.ratings} ratings by ${s.raters.length} rater(s) (${s.raters.join(', ') || 'none'}) on ${s.explanations} explanation(s)`,
  ];
  if (s.ratings === 0) return out;
  out.push('', 'Agreement between raters');
  out.push(
    ...table(
      ['criterion', 'α ordinal', 'α interval', 'units', 'Fleiss κ', 'complete units (dropped)'],
      Object.entries(s.agreement).map(([c, a]) => [
        c,
        num(a.alphaOrdinal),
        num(a.alphaInterval),
        String(a.pairableUnits),
        num(a.fleissKappa),
        `${a.fleissUnits} (${a.fleissDroppedUnits})`,
      ]),
    ),
  );
  out.push('', 'Mean score per method (1–5, 95% CI over explanations; raters averaged per explanation)');
  out.push(
    ...table(
      ['method', 'run', 'n', 'correctness', 'completeness', 'compactness', 'mean'],
      s.methods.map((m) => [
        m.method,
        String(m.runId),
        String(m.explanations),
        ci(m.scores.correctness),
        ci(m.scores.completeness),
        ci(m.scores.compactness),
        ci(m.scores.mean),
      ]),
    ),
  );
  out.push('', 'Automatic metric vs human score: Spearman ρ (two-sided p)');
  if (s.metrics.length === 0)
    out.push('(no metrics stored for the rated explanations; run xwb metrics first)');
  else {
    out.push(
      ...table(
        ['metric', 'n', 'correctness', 'completeness', 'compactness', 'mean'],
        s.metrics.map((m) => [
          Object.keys(m.params).length ? `${m.metric} ${JSON.stringify(m.params)}` : m.metric,
          String(m.correlations.mean.n),
          rho(m.correlations.correctness),
          rho(m.correlations.completeness),
          rho(m.correlations.compactness),
          rho(m.correlations.mean),
        ]),
      ),
    );
  }
  out.push('', '– = undefined (too few ratings, or no variation). --json gives every number, with CIs.');
  return out;
}

export const ratingsCommand: Command = {
  name: 'ratings',
  summary:
    "Analyse review ratings: inter-rater agreement (Krippendorff's α, Fleiss' κ), mean scores per method, and " +
    'how each automatic metric correlates with the human scores.',
  usage: 'xwb ratings summary [--session N] [--db PATH] [--json]',
  positionals: [1, 1],
  options: { session: { type: 'string' } },
  async run(args, io) {
    const sub = args.positionals[0];
    if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw new UsageError(
        `unknown subcommand "${sub}" (expected: ${SUBCOMMANDS.join(', ')})\nusage: xwb ratings summary`,
      );
    }
    const { summariseReviews } = await import('../../review/summary.js');
    const sessionId = args.values.session === undefined ? undefined : intOption(args.values, 'session', 0, 1);
    return withStore(args, (store) => {
      const summary = summariseReviews(store, { sessionId });
      if (args.values.json) {
        // NaN (an undefined statistic) has no JSON form: it is written as null.
        io.out(JSON.stringify({ store: store.path, ...summary }, null, 2));
      } else {
        const name = sessionId === undefined ? null : (store.ratings.getSession(sessionId)?.name ?? null);
        for (const line of formatSummary(summary, name)) io.out(line);
      }
      return 0;
    });
  },
};
