import type { Command, Io } from './command.js';
import { parseCommandArgs } from './command.js';
import { UserError } from './errors.js';
import { VERSION } from './version.js';

// Commands load lazily so that `xwb --help` or `xwb datasets` never pays for TensorFlow or sharp.
const commands: Record<string, () => Promise<Command>> = {
  generate: async () => (await import('./commands/generate.js')).generateCommand,
  import: async () => (await import('./commands/import.js')).importCommand,
  datasets: async () => (await import('./commands/datasets.js')).datasetsCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  start: async () => (await import('./commands/start.js')).startCommand,
  train: async () => (await import('./commands/train.js')).trainCommand,
  predict: async () => (await import('./commands/predict.js')).predictCommand,
  explain: async () => (await import('./commands/explain.js')).explainCommand,
  eval: async () => (await import('./commands/eval.js')).evalCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  ratings: async () => (await import('./commands/ratings.js')).ratingsCommand,
  worker: async () => (await import('./commands/worker.js')).workerCommand,
  user: async () => (await import('./commands/user.js')).userCommand,
};

function defaultIo(): Io {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    interactive: process.stderr.isTTY === true,
  };
}

async function help(io: Io): Promise<void> {
  io.out('xwb, the explanation workbench\n');
  io.out('usage: xwb <command> [options]\n');
  for (const name of Object.keys(commands)) {
    const c = await commands[name]();
    io.out(`  ${c.usage}\n      ${c.summary}`);
  }
  io.out('\nEvery command takes --db PATH (default: the store in your user data folder) and --help.');
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await help(io);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(VERSION);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    io.err(`xwb: unknown command "${name}". Commands: ${Object.keys(commands).join(', ')} (see xwb --help)`);
    return 2;
  }
  const cmd = await load();
  try {
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help) {
      io.out(`usage: ${cmd.usage}\n\n${cmd.summary}`);
      return 0;
    }
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UserError) {
      io.err(`xwb ${name}: ${e.message}`);
      return e.exitCode;
    }
    // Errors thrown by xwb's own modules are written for people (they name the file and the problem), so they
    // are shown as they are; programming errors get their stack so they can be reported.
    const err = e instanceof Error ? e : new Error(String(e));
    const programming =
      err instanceof TypeError || err instanceof ReferenceError || err instanceof SyntaxError;
    if (programming || process.env.XWB_DEBUG) {
      io.err(`xwb ${name}: unexpected error: ${err.stack ?? err.message}`);
    } else {
      io.err(`xwb ${name}: ${err.message}`);
    }
    return 1;
  }
}
