import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { XwbService } from '../../api/service.js';
import type { TeamOptions } from '../../server/http.js';
import type { Store } from '../../store/index.js';
import { type Command, type Io, intOption, type ParsedArgs, stringOption } from '../command.js';
import { UsageError } from '../errors.js';
import { openCliStore } from '../store.js';
import { VERSION } from '../version.js';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** The options of team mode, shared by `xwb serve` and `xwb start`. */
export const TEAM_OPTIONS = {
  team: { type: 'boolean' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'behind-proxy': { type: 'boolean' },
  origin: { type: 'string' },
  'session-hours': { type: 'string' },
} as const;

export const TEAM_USAGE =
  '[--team (--tls-cert PEM --tls-key PEM | --behind-proxy --origin https://NAME) [--origin URL] [--session-hours H]]';

function readPem(file: string, option: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(
      `${option} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/**
 * Team mode's settings from the command line, or undefined for the single-user workbench. Team mode sends
 * passwords, so it needs TLS: xwb's own (--tls-cert/--tls-key) or a reverse proxy's (--behind-proxy, with the
 * public --origin the proxy serves); and it needs an owner to sign in.
 */
export function teamOptions(args: ParsedArgs, store: Store): TeamOptions | undefined {
  const v = args.values;
  const tlsGiven = v['tls-cert'] !== undefined || v['tls-key'] !== undefined;
  if (!v.team) {
    for (const o of ['tls-cert', 'tls-key', 'behind-proxy', 'origin', 'session-hours'])
      if (v[o] !== undefined) throw new UsageError(`--${o} is for team mode: add --team`);
    return undefined;
  }
  if (store.accounts.count('owner') === 0) {
    throw new UsageError(
      `team mode needs an owner account in ${store.path}; create one first: xwb user add NAME --role owner`,
    );
  }
  const origin = stringOption(v, 'origin');
  let publicOrigin: string | undefined;
  if (origin !== undefined) {
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      throw new UsageError(`--origin must be an address such as https://xwb.example.org, got "${origin}"`);
    }
    if (u.protocol !== 'https:' || (u.pathname !== '/' && u.pathname !== '') || u.search || u.username)
      throw new UsageError(`--origin must be an https:// address with no path, got "${origin}"`);
    publicOrigin = u.origin;
  }
  const hours = v['session-hours'] === undefined ? 12 : Number(v['session-hours']);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 30)
    throw new UsageError(
      `--session-hours must be a number of hours between 0 and 720, got "${String(v['session-hours'])}"`,
    );
  const auth = { sessionMs: Math.round(hours * 3600_000) };
  if (v['behind-proxy']) {
    if (tlsGiven) throw new UsageError('give either --tls-cert/--tls-key or --behind-proxy, not both');
    if (publicOrigin === undefined)
      throw new UsageError(
        '--behind-proxy needs --origin https://NAME, the address the proxy serves (browsers send it as Origin)',
      );
    return { behindProxy: true, publicOrigin, auth };
  }
  const cert = stringOption(v, 'tls-cert');
  const key = stringOption(v, 'tls-key');
  if (cert === undefined || key === undefined) {
    throw new UsageError(
      'team mode sends passwords, so it needs TLS: give --tls-cert FILE and --tls-key FILE (PEM), or run it ' +
        'behind an HTTPS reverse proxy with --behind-proxy --origin https://NAME',
    );
  }
  return { tls: { cert: readPem(cert, '--tls-cert'), key: readPem(key, '--tls-key') }, publicOrigin, auth };
}

/** What a caller of serveWorkbenchCommand may add once the workbench is up (xwb start: the demo model). */
export interface ServeHooks {
  afterStart?: (service: XwbService, io: Io) => Promise<void>;
}

export const serveCommand: Command = {
  name: 'serve',
  summary:
    'Serve the workbench in a browser (web mode): the renderer and its API on loopback, protected by a token ' +
    'that is new at every launch (open the printed address; addresses from earlier launches stop working). ' +
    'The port stays the same per store, so changes a browser kept unsaved survive a restart. A non-loopback ' +
    '--host is refused unless --allow-non-loopback is given. With --queue (or XWB_QUEUE), long jobs are ' +
    'enqueued on that PostgreSQL database for `xwb worker` processes instead of running in this one.',
  usage: `xwb serve [--port N] [--host 127.0.0.1] [--allow-non-loopback] [--queue postgres://…] ${TEAM_USAGE} [--db PATH] [--json]`,
  positionals: [0, 0],
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'allow-non-loopback': { type: 'boolean' },
    queue: { type: 'string' },
    ...TEAM_OPTIONS,
  },
  run: (args, io) => serveWorkbenchCommand(args, io),
};

/** `xwb serve`, and `xwb start` in web mode (with its hooks). */
export async function serveWorkbenchCommand(
  args: ParsedArgs,
  io: Io,
  hooks: ServeHooks = {},
): Promise<number> {
  const host = stringOption(args.values, 'host') ?? '127.0.0.1';
  if (isIP(host) === 0 && host !== 'localhost')
    throw new UsageError(`--host must be an IP address, got "${host}"`);
  const portGiven = args.values.port !== undefined;
  const port = intOption(args.values, 'port', 0, 0, 65535);
  const teamMode = args.values.team === true;
  if (!isLoopback(host) && !teamMode) {
    if (!args.values['allow-non-loopback']) {
      throw new UsageError(
        `--host ${host} is not a loopback address: the workbench would be reachable from other machines. ` +
          'For a team, add --team (accounts and roles over TLS); for this one-person token over plain HTTP, add ' +
          '--allow-non-loopback.',
      );
    }
    io.err(
      `warning: serving on ${host} over plain HTTP: anyone who can reach it and sees the token (which travels ` +
        'unencrypted) can read and change this store',
    );
  }
  const queueFlag = stringOption(args.values, 'queue');
  const queue = queueFlag ?? (process.env.XWB_QUEUE?.trim() || undefined);
  if (queue) {
    const { checkQueueUrl } = await import('../../jobs/pgboss/boss.js');
    try {
      checkQueueUrl(queue, queueFlag ? '--queue' : 'XWB_QUEUE');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const store = openCliStore(args);
  let team: TeamOptions | undefined;
  try {
    team = teamOptions(args, store);
  } catch (e) {
    store.close();
    throw e;
  }
  const { serveWorkbench } = await import('../../server/launch.js');
  const { stablePort } = await import('../../server/identity.js');
  let served: Awaited<ReturnType<typeof serveWorkbench>>;
  try {
    served = await serveWorkbench(store, {
      host,
      port: portGiven ? port : stablePort(store.path),
      version: VERSION,
      queue,
      team,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || portGiven) throw e;
    io.err(
      `warning: this store's usual port ${stablePort(store.path)} is taken; using another one. Changes a browser ` +
        'kept unsaved for the old address will be sent when you open the old address again.',
    );
    served = await serveWorkbench(store, { host, port: 0, version: VERSION, queue, team });
  }
  const { web, service } = served;
  if (args.values.json) io.out(JSON.stringify({ url: web.url, launchUrl: web.launchUrl, store: store.path }));
  else {
    io.out(`xwb workbench (web mode${team ? ', team' : ''}), store: ${store.path}`);
    io.out(team ? `open ${web.launchUrl} and sign in` : `open ${web.launchUrl}`);
    io.out('press Ctrl+C to stop');
  }
  if (hooks.afterStart) await hooks.afterStart(service, io);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      web
        .close()
        .then(() => service.close())
        .finally(() => {
          store.close();
          done();
        });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
