import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Whether stderr is a terminal: progress bars draw only then. */
  interactive: boolean;
  /** Reads a secret (a password) without echo; default: the terminal, or stdin's first line (xwb user). */
  secret?: (prompt: string) => Promise<string>;
}

export interface ParsedArgs {
  values: Values;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec;
  /** How many positionals: [min, max]. */
  positionals: [number, number];
  run(args: ParsedArgs, io: Io): Promise<number>;
}

export const commonOptions = {
  db: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export function parseCommandArgs(cmd: Command, argv: string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...commonOptions, ...cmd.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // node:util's messages name the option; add where to look.
    throw new UsageError(`${(e as Error).message}\nusage: ${cmd.usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { values, positionals };
  const [min, max] = cmd.positionals;
  if (positionals.length < min || positionals.length > max) {
    throw new UsageError(
      `xwb ${cmd.name} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${positionals.length}\nusage: ${cmd.usage}`,
    );
  }
  return { values, positionals };
}

/** Reads an integer option, with bounds, or the default when absent. */
export function intOption(
  values: Values,
  name: string,
  def: number,
  min = -Infinity,
  max = Infinity,
): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min || n > max) {
    const range = Number.isFinite(min) || Number.isFinite(max) ? ` between ${min} and ${max}` : '';
    throw new UsageError(`--${name} must be a whole number${range}, got "${String(v)}"`);
  }
  return n;
}

export function numberOption(
  values: Values,
  name: string,
  def: number,
  min = -Infinity,
  max = Infinity,
): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number between ${min} and ${max}, got "${String(v)}"`);
  }
  return n;
}

export function stringOption(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
