#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (TypeScript through tsx).
// Node 20's runner does not expand globs, so the files are collected here.
// `npm test -- <filter>` runs only the files whose path contains <filter>.
// The store tests (and the team-mode load test) also run on PostgreSQL: unless XWB_TEST_PG names a server already, a throwaway cluster is started
// here when PostgreSQL's binaries are installed (as the postgres user when run as root: the server refuses root),
// and removed afterwards. Without one the PostgreSQL variants report themselves as skipped, with the reason.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'fixtures' || name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = collect(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((q) => f.includes(q)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
/** The newest installed PostgreSQL's bin folder (Debian's layout, or pg_config's answer), or undefined. */
function postgresBin() {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(debian, versions[0], 'bin');
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const bin = r.status === 0 ? r.stdout.trim() : '';
  return bin && existsSync(join(bin, 'initdb')) ? bin : undefined;
}

/** Starts a cluster in a temp folder; answers its URL and a stop function, or a reason it could not. */
function startCluster() {
  const bin = postgresBin();
  if (bin === undefined) return { reason: 'PostgreSQL is not installed (no initdb found)' };
  const dir = mkdtempSync(join(tmpdir(), 'xwb-test-pg-'));
  const asRoot = process.getuid?.() === 0;
  const sh = (cmd) =>
    asRoot
      ? spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { encoding: 'utf8' })
      : spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
  if (asRoot)
    chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), 0);
  const init = sh(
    `${bin}/initdb -D ${dir}/data -A trust -U xwb -E UTF8 --locale=C.UTF-8 >${dir}/initdb.log 2>&1`,
  );
  if (init.status !== 0) return { reason: `initdb failed (see ${dir}/initdb.log)` };
  // fsync off: a test cluster that is thrown away needs no crash safety, and CREATE DATABASE per test gets fast.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 55400 + Math.floor(Math.random() * 100);
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    const start = sh(`${bin}/pg_ctl -D ${dir}/data -o '${opts}' -l ${dir}/server.log -w start >/dev/null`);
    if (start.status === 0) {
      return {
        url: `postgres://xwb@127.0.0.1:${port}/postgres`,
        stop: () => {
          sh(`${bin}/pg_ctl -D ${dir}/data -m immediate stop >/dev/null`);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  }
  return { reason: `the test cluster did not start (see ${dir}/server.log)` };
}

const env = { ...process.env, XWB_TEST: '1' };
let stop = () => {};
if (!env.XWB_TEST_PG && files.some((f) => f.startsWith('test/store/') || f.startsWith('test/team/'))) {
  const c = startCluster();
  if (c.url) {
    env.XWB_TEST_PG = c.url;
    stop = c.stop;
    console.log(`run-tests: PostgreSQL test cluster at ${c.url}`);
  } else {
    console.error(
      `run-tests: *** no PostgreSQL for the store tests: ${c.reason}; their PostgreSQL variants are skipped`,
    );
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stop();
    process.exit(130);
  });
}
const concurrency = process.env.XWB_TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env },
);
stop();
process.exit(r.status ?? 1);
