/**
 * Concurrent reviewers under load, and a server killed mid-load (issue 14, item 3): a throwaway PostgreSQL
 * cluster (fsync on), the real `xwb serve --team` as a child process on it, N reviewers rating and annotating
 * and a few owners correcting their boxes, a SIGKILL of the server part-way, a restart on the same database, and
 * a check of every acknowledged write. The harness is test/team/load-harness.ts (test/team/load-kill.test.ts runs
 * a short slice of it).
 *
 * Run: `nice -n 19 node --import tsx bench/team-load.ts [--minutes 3] [--reviewers 20] [--curators 2]
 *       [--think-ms 200,1200] [--seed 1] [--kill-at-s S] [--db postgres://…]`
 * Exit code 1 when an acknowledged write is missing, a box was overwritten, ratings were mixed, or something
 * unexpected happened (a 500, a lost sign-in, a failure outside the kill window).
 */
import { execSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { runTeamLoad } from '../test/team/load-harness.js';
import { startCluster } from '../test/team/pg-cluster.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const num = (name: string, dflt: number) => {
  const v = arg(name);
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${v}"`);
  return n;
};
const minutes = num('minutes', 3);
const reviewers = num('reviewers', 20);
const curators = num('curators', 2);
const seed = num('seed', 1);
const think = (arg('think-ms') ?? '200,1200').split(',').map(Number) as [number, number];
if (think.length !== 2 || think.some((x) => !Number.isFinite(x) || x < 0) || think[0] > think[1])
  throw new Error('--think-ms must be MIN,MAX in ms');
const killAt = arg('kill-at-s');

let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
} catch {}
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
console.log(
  `team-load: ${reviewers} reviewers + ${curators} curators, ${minutes} min, think ${think.join('–')} ms, ` +
    `seed ${seed}, commit ${commit}, ${new Date().toISOString()}, load average ${load()}`,
);

let db = arg('db');
let stop = () => {};
if (db === undefined) {
  const c = startCluster({ fsync: true });
  if ('reason' in c) {
    console.error(`team-load: no PostgreSQL: ${c.reason}`);
    process.exit(2);
  }
  db = c.url;
  // The cluster's log is kept (slow statements, checkpoints): a stall is then the disk's or xwb's, not a guess.
  stop = () => {
    try {
      copyFileSync(c.log, '/tmp/team-load-postgres.log');
      console.log('PostgreSQL log kept in /tmp/team-load-postgres.log');
    } catch {}
    c.stop();
  };
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    stop();
    process.exit(130);
  });
}
let failed = true;
try {
  const r = await runTeamLoad({
    db,
    reviewers,
    curators,
    durationMs: minutes * 60_000,
    killAtMs: killAt === undefined ? undefined : Number(killAt) * 1000,
    seed,
    thinkMs: think,
    log: (l) => console.log(`  ${l}`),
  });
  const a = r.acknowledged;
  console.log(`load average after ${load()}`);
  console.log(`duration          ${(r.ms / 1000).toFixed(1)} s`);
  console.log(`requests          ${r.requests} (${(r.requests / (r.ms / 1000)).toFixed(1)}/s)`);
  console.log(`answers           ${JSON.stringify(r.statuses)}`);
  console.log(
    `acknowledged      ${a.total} writes: ratings ${a.ratings}, box adds ${a.adds}, moves ${a.updates}, deletes ${a.deletes}`,
  );
  console.log(
    `conflicts (409)   ${r.conflicts} box edits refused because someone else changed the box first`,
  );
  console.log(
    `kill              SIGKILL at ${(r.kill.atMs / 1000).toFixed(1)} s, server back after ${(r.kill.downMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `no answer         ${r.failures.total} (${r.failures.inKillWindow} in the kill window; outside it ${r.failures.keepAliveRaces} keep-alive races, ${r.failures.outsideKillWindow} others) ${JSON.stringify(r.failures.byCode)}; writes retried ${r.retried} (refused as a conflict with their own landed first attempt: ${r.selfConflicts})`,
  );
  const w = r.serverCpuWait;
  if (w)
    console.log(
      `server CPU wait   ${(w.totalMs / 1000).toFixed(1)} s runnable but not running (worst second: ${w.worstSecondMs.toFixed(0)} ms at ${w.worstSecond} s)`,
    );
  console.log('latency (ms)      kind: n p50 p95 p99 max');
  for (const [kind, l] of Object.entries(r.latency)) {
    console.log(
      `  ${kind.padEnd(20)} ${String(l.n).padStart(6)} ${l.p50.toFixed(1).padStart(8)} ${l.p95.toFixed(1).padStart(8)} ${l.p99.toFixed(1).padStart(8)} ${l.max.toFixed(1).padStart(8)}`,
    );
  }
  if (r.slowSeconds.length > 0)
    console.log(
      `answers over 1 s  by the second they started in [s, count, longest ms, server ms running, server ms waiting for a CPU]: ${JSON.stringify(r.slowSeconds)}`,
    );
  console.log(`ratings present   ${r.ratingsPresent} of ${a.ratings} acknowledged`);
  console.log(`lost              ${r.lost}`);
  console.log(`overwritten       ${r.overwritten}`);
  console.log(`mixed             ${r.mixed}`);
  for (const p of r.problems) console.log(`problem: ${p}`);
  failed =
    r.lost > 0 ||
    r.overwritten > 0 ||
    r.mixed > 0 ||
    r.ratingsPresent !== a.ratings ||
    r.problems.length > 0 ||
    r.failures.outsideKillWindow > 0;
  console.log(failed ? 'RESULT: FAILED' : 'RESULT: every acknowledged write is present; nothing overwritten');
} finally {
  stop();
}
process.exit(failed ? 1 : 0);
