import { type Command, intOption, stringOption } from '../command.js';
import { UsageError } from '../errors.js';
import { cliStorePath } from '../store.js';

export const workerCommand: Command = {
  name: 'worker',
  summary:
    "Run the team's long jobs (training, evaluation, batch explain, export) that `xwb serve --queue` enqueues: takes them " +
    "from the PostgreSQL queue, runs them on this host's best engine and writes progress and results to the store's " +
    'job rows, where the workbench shows them. Any number of workers, on any host that reaches the database and ' +
    'the store. Stops on Ctrl+C / SIGTERM, handing running jobs back to the queue.',
  usage:
    'xwb worker --queue postgres://user@host:port/db [--db PATH] [--concurrency 1] [--progress-interval MS] [--json]',
  positionals: [0, 0],
  options: {
    queue: { type: 'string' },
    concurrency: { type: 'string' },
    /** Least time between two progress writes of a job to the store (ms, default 1000). */
    'progress-interval': { type: 'string' },
  },
  async run(args, io) {
    const url = stringOption(args.values, 'queue') ?? process.env.XWB_QUEUE?.trim();
    if (!url) throw new UsageError(`--queue is required (or set XWB_QUEUE)\nusage: ${workerCommand.usage}`);
    const { checkQueueUrl, describeQueueUrl } = await import('../../jobs/pgboss/boss.js');
    try {
      checkQueueUrl(url, stringOption(args.values, 'queue') ? '--queue' : 'XWB_QUEUE');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const concurrency = intOption(args.values, 'concurrency', 1, 1, 64);
    const storeIntervalMs = intOption(args.values, 'progress-interval', 1000, 0, 600_000);
    const dbPath = cliStorePath(args);
    const { openStore } = await import('../../store/index.js');
    const { jobKinds } = await import('../../jobs/kinds.js');
    const { QueueWorker } = await import('../../jobs/pgboss/worker.js');
    const store = openStore(dbPath);
    const log = (line: string) => io.err(`${new Date().toISOString()} ${line}`);
    let exitCode = 0;
    let stopped!: () => void;
    const gone = new Promise<void>((r) => (stopped = r));
    let worker: Awaited<ReturnType<typeof QueueWorker.start>>;
    try {
      worker = await QueueWorker.start({
        store,
        dbPath: store.path,
        url,
        kinds: jobKinds(),
        concurrency,
        storeIntervalMs,
        log,
        onFatal: () => {
          exitCode = 1;
          stopped();
        },
      });
    } catch (e) {
      store.close();
      throw new Error(`could not start on the queue ${describeQueueUrl(url)}: ${(e as Error).message}`);
    }
    const info = { worker: worker.name, queue: describeQueueUrl(url), store: store.path, concurrency };
    if (args.values.json) io.out(JSON.stringify(info));
    else io.out(`xwb worker ${info.worker} on ${info.queue}, store ${info.store}; press Ctrl+C to stop`);
    const stop = () => {
      log('stopping: running jobs go back to the queue');
      void worker.stop().finally(stopped);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await gone;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    store.close();
    return exitCode;
  },
};
