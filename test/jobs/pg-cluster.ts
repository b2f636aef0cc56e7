/**
 * A throwaway PostgreSQL 15 cluster for the queue's tests and bench: initdb into a temp folder, started on a free
 * loopback port, stopped and removed afterwards. PostgreSQL refuses to run as root, so as root the cluster runs as
 * the `postgres` user. `NO_POSTGRES` is the skip reason when the binaries are absent (node:test's `skip` takes a
 * string), so a machine without them says why instead of passing silently.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.XWB_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export const NO_POSTGRES: string | false = existsSync(join(BIN, 'initdb'))
  ? false
  : `PostgreSQL binaries not found in ${BIN} (set XWB_PG_BIN, or apt-get install postgresql-15): ` +
    'the team-mode queue tests need a real server';

export interface PgCluster {
  /** postgres://xwb@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary, as `postgres` when this process is root. */
function pgRun(args: string[]): void {
  const asRoot = userInfo().uid === 0;
  const cmd = asRoot ? 'su' : join(BIN, args[0]);
  const argv = asRoot
    ? ['postgres', '-s', '/bin/sh', '-c', [join(BIN, args[0]), ...args.slice(1)].map(quote).join(' ')]
    : args.slice(1);
  execFileSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export async function startPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'xwb-pg-'));
  chmodSync(dir, 0o755);
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  pgRun(['initdb', '-D', data, '-A', 'trust', '-U', 'xwb', '--no-sync']);
  // A free port can be taken between asking and binding (other helpers start clusters too): try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      pgRun([
        'pg_ctl',
        '-D',
        data,
        '-w',
        '-l',
        join(dir, 'log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`,
        'start',
      ]);
      return {
        url: `postgres://xwb@127.0.0.1:${port}/postgres`,
        port,
        stop() {
          try {
            pgRun(['pg_ctl', '-D', data, '-m', 'immediate', '-w', 'stop']);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      };
    } catch (e) {
      if (attempt >= 3) {
        const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start in ${dir}: ${(e as Error).message}\n${log}`);
      }
    }
  }
}
