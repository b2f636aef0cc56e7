/**
 * Durability of acknowledged writes through the real web server (issue 11): `xwb serve` is SIGKILLed at a seeded
 * random moment in each cycle while one client lane rates review items (half with a should-highlight mask) and
 * another adds, moves and deletes annotation boxes (and re-sends acknowledged adds, as after a lost answer). After
 * every kill the store is opened and every acknowledged write looked for; the server restarts and the writes that
 * were in flight are re-sent. The harness is test/server/crash-cycles.ts (test/server/durability.test.ts runs ten
 * cycles of it).
 *
 * Run: `nice -n 15 node --import tsx bench/durability.ts [--cycles 200] [--seed 1] [--minutes M] [--quiet]`
 * `--minutes` (or Ctrl+C) stops starting new cycles; the final restart, re-send and checks still run, and the
 * report says how many cycles were done.
 */
import { execSync } from 'node:child_process';
import { runCrashCycles } from '../test/server/crash-cycles.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const cycles = arg('cycles', 200);
const seed = arg('seed', 1);
const minutes = arg('minutes', Number.POSITIVE_INFINITY);
const quiet = process.argv.includes('--quiet');
const deadline = Date.now() + minutes * 60_000;
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  console.log('stopping after this cycle (SIGINT)');
});

let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
} catch {}
console.log(`durability: ${cycles} cycles, seed ${seed}, commit ${commit}, ${new Date().toISOString()}`);
const r = await runCrashCycles({
  cycles,
  seed,
  stop: () => interrupted || Date.now() > deadline,
  log: quiet ? undefined : (l) => console.log(l),
});
const a = r.acknowledged;
console.log(`cycles            ${r.cycles} of ${cycles}`);
console.log(
  `acknowledged      ${a.total} (ratings ${a.ratings}, of which with mask ${a.masks}; adds ${a.adds}, moves ${a.moves}, deletes ${a.deletes})`,
);
console.log(`re-sent after kill ${r.resentAfterKill}; acknowledged adds re-sent ${r.resentAdds}`);
console.log(`lost              ${r.lost}`);
console.log(`duplicates        ${r.duplicates}`);
console.log(`integrity_check   ${r.integrity}`);
console.log(
  `time              ${(r.ms / 1000).toFixed(1)} s (${(r.ms / r.cycles / 1000).toFixed(2)} s per cycle)`,
);
for (const p of r.problems) console.log(`problem: ${p}`);
process.exitCode =
  r.lost === 0 && r.duplicates === 0 && r.problems.length === 0 && r.integrity === 'ok' ? 0 : 1;
