import { isIP } from 'node:net';
import type { XwbService } from '../../api/service.js';
import { type Command, type Io, intOption, type ParsedArgs, stringOption } from '../command.js';
import { UsageError } from '../errors.js';
import { openCliStore } from '../store.js';
import { VERSION } from '../version.js';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
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
  usage:
    'xwb serve [--port N] [--host 127.0.0.1] [--allow-non-loopback] [--queue postgres://…] [--db PATH] [--json]',
  positionals: [0, 0],
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'allow-non-loopback': { type: 'boolean' },
    queue: { type: 'string' },
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
  if (!isLoopback(host)) {
    if (!args.values['allow-non-loopback']) {
      throw new UsageError(
        `--host ${host} is not a loopback address: the workbench would be reachable from other machines, ` +
          'over plain HTTP. Add --allow-non-loopback if that is what you want.',
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
  const { serveWorkbench } = await import('../../server/launch.js');
  const { stablePort } = await import('../../server/identity.js');
  let served: Awaited<ReturnType<typeof serveWorkbench>>;
  try {
    served = await serveWorkbench(store, {
      host,
      port: portGiven ? port : stablePort(store.path),
      version: VERSION,
      queue,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || portGiven) throw e;
    io.err(
      `warning: this store's usual port ${stablePort(store.path)} is taken; using another one. Changes a browser ` +
        'kept unsaved for the old address will be sent when you open the old address again.',
    );
    served = await serveWorkbench(store, { host, port: 0, version: VERSION, queue });
  }
  const { web, service } = served;
  if (args.values.json) io.out(JSON.stringify({ url: web.url, launchUrl: web.launchUrl, store: store.path }));
  else {
    io.out(`xwb workbench (web mode), store: ${store.path}`);
    io.out(`open ${web.launchUrl}`);
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
