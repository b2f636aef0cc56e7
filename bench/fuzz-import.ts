/**
 * Hostile-input figures of the importer: 10,000 seeded cases (mutated VOC files and broken images, see
 * test/fuzz/corpus.ts), each imported for real into a real store in a child process under a per-case time
 * bound, with the checks of test/fuzz/harness.ts (crashes, hangs, unnamed skips, store changed by a failed
 * import, accepted-but-untrainable images, broken images stored / valid ones refused).
 *
 *   node --import tsx bench/fuzz-import.ts [--count N] [--seed K] [--timeout MS] [--json]
 *
 * Exits 1 when any check failed, so it can gate a release. The figures go to docs/reliability.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runFuzz } from '../test/fuzz/harness.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '10000' },
    json: { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);
const timeout = Number(values.timeout);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed) || !(timeout > 0)) {
  throw new Error(
    `--count, --seed and --timeout must be whole numbers, got ${values.count}, ${values.seed}, ${values.timeout}`,
  );
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const dir = mkdtempSync(join(tmpdir(), 'xwb-fuzz-'));
let last = 0;
try {
  const fig = await runFuzz({
    seed,
    count,
    dir,
    caseTimeoutMs: timeout,
    onProgress: (done, total) => {
      if (!values.json && (done === total || performance.now() - last > 10_000)) {
        last = performance.now();
        process.stderr.write(`  ${done}/${total} cases\n`);
      }
    },
  });
  if (values.json) {
    console.log(JSON.stringify({ date: new Date().toISOString(), commit: commit(), ...fig }, null, 2));
  } else {
    const violations =
      fig.crashes +
      fig.hangs +
      fig.unnamed +
      fig.storeChangedByFailure +
      fig.untrainable +
      fig.expectationMismatches;
    console.log(`import fuzz, seed ${fig.seed}, commit ${commit()}, ${new Date().toISOString()}`);
    console.log(
      `  ${fig.cases} cases (${fig.xmlCases} mutated VOC files, ${fig.imageCases} broken or unusual images), ` +
        `${(fig.bytes / 2 ** 20).toFixed(0)} MiB written, ${fig.seconds.toFixed(0)} s`,
    );
    console.log(
      `  crashes ${fig.crashes}, hangs ${fig.hangs} (bound ${timeout} ms per case), unnamed skips ${fig.unnamed}`,
    );
    console.log(
      `  store changed by a failed import: ${fig.storeChangedByFailure} of ${fig.failedImportsCompared} compared; ` +
        `stored but untrainable ${fig.untrainable}; expectation mismatches ${fig.expectationMismatches}`,
    );
    console.log(
      `  per case: median ${fig.caseMs.median.toFixed(1)} ms, p99 ${fig.caseMs.p99.toFixed(0)} ms, ` +
        `max ${fig.caseMs.max.toFixed(0)} ms (${fig.caseMs.maxKind}); importer peak RSS ${fig.peakChildRssMb.toFixed(0)} MiB`,
    );
    console.log('  by mutation: cases / hostile file stored (repaired) / skipped, named / folder refused');
    for (const [k, v] of Object.entries(fig.byMutator).sort()) {
      console.log(
        `    ${k.padEnd(26)} ${String(v.cases).padStart(5)} ${String(v.stored).padStart(5)} ${String(v.skipped).padStart(5)} ${String(v.refused).padStart(5)}`,
      );
    }
    for (const e of fig.examples) console.log(`  ! ${e}`);
    console.log(violations === 0 ? '  all checks passed' : `  ${violations} check(s) failed`);
    process.exitCode = violations === 0 ? 0 : 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
