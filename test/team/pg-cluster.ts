/**
 * A throwaway PostgreSQL cluster for the team-mode bench (bench/team-load.ts): `initdb` + `pg_ctl` in a temp folder,
 * as the postgres user when run as root (the server refuses root), on a random port in 55400–55499. The same
 * recipe as scripts/run-tests.mjs, which cannot be imported from TypeScript; unlike the test runner's cluster this
 * one keeps fsync on by default, because the bench measures acknowledged = durable.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Cluster = { url: string; stop: () => void; log: string } | { reason: string };

/** The newest installed PostgreSQL's bin folder (Debian's layout, or pg_config's answer), or undefined. */
export function postgresBin(): string | undefined {
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

/** Starts a cluster; its URL names the `postgres` database of the superuser `xwb` (trust auth, loopback only). */
export function startCluster(opts: { fsync?: boolean } = {}): Cluster {
  const bin = postgresBin();
  if (bin === undefined) return { reason: 'PostgreSQL is not installed (no initdb found)' };
  const dir = mkdtempSync(join(tmpdir(), 'xwb-load-pg-'));
  const asRoot = process.getuid?.() === 0;
  const sh = (cmd: string) =>
    asRoot
      ? spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { encoding: 'utf8' })
      : spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, 0);
  }
  const init = sh(
    `${bin}/initdb -D ${dir}/data -A trust -U xwb -E UTF8 --locale=C.UTF-8 >${dir}/initdb.log 2>&1`,
  );
  if (init.status !== 0) return { reason: `initdb failed (see ${dir}/initdb.log)` };
  const fsync = opts.fsync === false ? ' -c fsync=off' : '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 55400 + Math.floor(Math.random() * 100);
    // Slow statements, lock waits and checkpoints go to the log, to tell a stall of the server's disk from one of xwb.
    const o =
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200${fsync} ` +
      '-c log_min_duration_statement=250 -c log_lock_waits=on -c log_checkpoints=on';
    const start = sh(`${bin}/pg_ctl -D ${dir}/data -o '${o}' -l ${dir}/server.log -w start >/dev/null`);
    if (start.status === 0) {
      return {
        url: `postgres://xwb@127.0.0.1:${port}/postgres`,
        log: `${dir}/server.log`,
        stop: () => {
          sh(`${bin}/pg_ctl -D ${dir}/data -m immediate stop >/dev/null`);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  }
  return { reason: `the cluster did not start (see ${dir}/server.log)` };
}
