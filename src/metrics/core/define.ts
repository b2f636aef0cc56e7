/**
 * Builds a `MetricDefinition` from a metric's pure computation: merges parameters with the defaults, refuses
 * unknown or mistyped ones (a typo in `--param` must not silently fall back to a default), checks that the
 * input carries what the metric needs, and returns the parameters actually used with the value.
 */
import type {
  InputField,
  MetricDefinition,
  MetricFamily,
  MetricInput,
  MetricResult,
  Params,
  RunOptions,
} from '../types.js';
import { checkMap } from './validate.js';

/** What a metric's computation returns; `defineMetric` adds the name, direction and parameters. */
export interface Outcome {
  value: number;
  note?: string;
  details?: Record<string, unknown>;
}

export interface MetricSpec<P extends Params> {
  name: string;
  family: MetricFamily;
  higherIsBetter: boolean;
  reference: string;
  defaults: P;
  choices?: Partial<Record<keyof P & string, readonly string[]>>;
  requires: readonly InputField[];
  /** Checks ranges that types cannot express; throws with a message naming the parameter. */
  validate?: (params: P) => void;
  compute(input: MetricInput, params: P, options: RunOptions): Outcome | Promise<Outcome>;
}

export function resolveParams<P extends Params>(spec: MetricSpec<P>, overrides: Partial<P> | undefined): P {
  const out: Params = { ...spec.defaults };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) continue;
    if (!(key in spec.defaults)) {
      throw new Error(
        `${spec.name}: unknown parameter "${key}"; its parameters are ${Object.keys(spec.defaults).join(', ')}`,
      );
    }
    const expected = typeof spec.defaults[key];
    if (typeof value !== expected) {
      throw new Error(`${spec.name}: parameter "${key}" must be a ${expected}, got ${JSON.stringify(value)}`);
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new Error(`${spec.name}: parameter "${key}" must be a finite number, got ${value}`);
    }
    out[key] = value;
  }
  for (const [key, allowed] of Object.entries(spec.choices ?? {}) as [string, readonly string[]][]) {
    if (!allowed.includes(out[key] as string)) {
      throw new Error(
        `${spec.name}: parameter "${key}" must be one of ${allowed.join(', ')}, got ${JSON.stringify(out[key])}`,
      );
    }
  }
  const params = out as P;
  spec.validate?.(params);
  return params;
}

export function requireInteger(metric: string, key: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${metric}: parameter "${key}" must be an integer >= ${min}, got ${value}`);
  }
}

export function requireRange(metric: string, key: string, value: number, lo: number, hi: number): void {
  if (!(value >= lo && value <= hi)) {
    throw new Error(`${metric}: parameter "${key}" must be in [${lo}, ${hi}], got ${value}`);
  }
}

export function defineMetric<P extends Params>(spec: MetricSpec<P>): MetricDefinition<P> {
  return {
    name: spec.name,
    family: spec.family,
    higherIsBetter: spec.higherIsBetter,
    reference: spec.reference,
    defaults: Object.freeze({ ...spec.defaults }),
    choices: Object.freeze(spec.choices ?? {}),
    requires: spec.requires,
    async run(
      input: MetricInput,
      overrides?: Partial<P>,
      options: RunOptions = {},
    ): Promise<MetricResult<P>> {
      const params = resolveParams(spec, overrides);
      options.signal?.throwIfAborted();
      checkMap(spec.name, input.map);
      const missing = spec.requires.filter((field) => input[field] === undefined);
      if (missing.length > 0) {
        throw new Error(`${spec.name}: the input lacks ${missing.join(', ')}, which this metric needs`);
      }
      const outcome = await spec.compute(input, params, options);
      const result: MetricResult<P> = {
        metric: spec.name,
        value: outcome.value,
        params,
        higherIsBetter: spec.higherIsBetter,
      };
      if (outcome.note !== undefined) result.note = outcome.note;
      if (outcome.details !== undefined) result.details = outcome.details;
      return result;
    },
  };
}

/** The outcome for an image without any ground truth of the explained class. */
export const EMPTY_MASK: Outcome = {
  value: Number.NaN,
  note: 'empty mask: the image has no box of the class',
};
