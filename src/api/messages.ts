/**
 * THE formatter of validation problems for people: a zod issue becomes a sentence that names the field as the
 * form calls it ("size must be at least 16 px"), not a schema path with zod's wording. validateRequest (every
 * request at the boundary) uses it, and the renderer shows its sentences as they are.
 *
 * No Node or DOM imports: the renderer imports this file through contract.ts.
 */
import type { z } from 'zod';

/** Units of the numeric fields whose unit is not obvious, for "at least 16 px". */
const UNITS: Record<string, string> = {
  size: 'px',
  width: 'px',
  height: 'px',
  x0: 'px',
  y0: 'px',
  x1: 'px',
  y1: 'px',
};

/** How a field is named in a sentence: its path, with array positions as "item 2 of" … (1-based). */
export function fieldName(path: readonly PropertyKey[]): string {
  // `options` only wraps a form's fields (datasets.generate): people know them as "images", not "options.images".
  if (path[0] === 'options' && path.length > 1) return fieldName(path.slice(1));
  if (path.length === 0) return 'the request';
  const parts: string[] = [];
  for (const p of path) {
    if (typeof p === 'number') parts.push(`[${p + 1}]`);
    else parts.push(parts.length ? `.${String(p)}` : String(p));
  }
  // "epochs[2]" reads as "epochs (item 2)".
  return parts.join('').replace(/\[(\d+)\]/g, ' (item $1)');
}

function lastKey(path: readonly PropertyKey[]): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string;
  return undefined;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function listOf(values: readonly unknown[]): string {
  const words = values.map((v) => (typeof v === 'string' ? `"${v}"` : String(v)));
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

function typeWord(t: string): string {
  switch (t) {
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'string':
      return 'text';
    case 'boolean':
      return 'true or false';
    case 'array':
    case 'tuple':
      return 'a list';
    case 'object':
      return 'a set of fields';
    default:
      return t;
  }
}

/** One issue as a sentence without a final full stop, e.g. "size must be at least 16 px". */
export function issueSentence(issue: z.core.$ZodIssue): string {
  const name = fieldName(issue.path);
  const key = lastKey(issue.path);
  const unit = key && UNITS[key] ? ` ${UNITS[key]}` : '';
  switch (issue.code) {
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string')
        return min <= 1
          ? `${name} must not be empty`
          : `${name} must have at least ${count(min, 'character')}`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `${name} must have at least ${count(min, 'item')}`;
      return issue.inclusive === false
        ? `${name} must be more than ${min}${unit}`
        : `${name} must be at least ${min}${unit}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return `${name} must have at most ${count(max, 'character')}`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `${name} must have at most ${count(max, 'item')}`;
      return issue.inclusive === false
        ? `${name} must be less than ${max}${unit}`
        : `${name} must be at most ${max}${unit}`;
    }
    case 'invalid_type':
      // zod leaves the input out of issues unless asked; its message still says what was received.
      if (/received undefined$/.test(issue.message)) return `${name} is missing`;
      return `${name} must be ${typeWord(issue.expected)}`;
    case 'invalid_value':
      return `${name} must be ${listOf(issue.values)}`;
    case 'unrecognized_keys':
      return issue.keys.length === 1
        ? `${issue.path.length ? `${name} has` : 'the request has'} an unknown field "${issue.keys[0]}"`
        : `${issue.path.length ? `${name} has` : 'the request has'} unknown fields ${listOf(issue.keys)}`;
    case 'not_multiple_of':
      return `${name} must be a multiple of ${issue.divisor}`;
    case 'invalid_format':
      return `${name} is not a valid ${issue.format}`;
    default:
      // Custom refinements carry their own sentence.
      return issue.message && !/^Invalid/.test(issue.message)
        ? `${name}: ${issue.message}`
        : `${name} is not valid`;
  }
}

/** A validation failure as one message: its first problem, and how many others there are. */
export function validationMessage(issues: readonly z.core.$ZodIssue[]): string {
  if (issues.length === 0) return 'the request is not valid';
  const first = issueSentence(issues[0]);
  const rest = issues.length - 1;
  return rest > 0 ? `${first} (and ${count(rest, 'other problem')})` : first;
}
