/**
 * A small, safe XML element tree built with saxes, for reading annotation files.
 *
 * Safety: saxes never fetches anything and never reads a DTD, but it would still report an internal subset and
 * quietly carry on. We refuse any DOCTYPE outright and any entity other than the five predefined ones (numeric
 * character references are fine): annotation files never need them, and refusing them is the only way to be sure
 * that neither an external entity (XXE) nor an entity bomb ("billion laughs") can ever be expanded, whatever a
 * later version of the parser might do with a DTD.
 */
import { SaxesParser } from 'saxes';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (text and CDATA, not that of its children), untrimmed. */
  text: string;
  /** 1-based line of the element's start tag, for error messages. */
  line: number;
}

/** Why a document could not be turned into a tree; `line` is 1-based. */
export class XmlSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  /** True when the document was refused for safety (DOCTYPE, entity, nesting depth), not because it is malformed. */
  readonly unsafe: boolean;
  constructor(reason: string, line: number, column: number, unsafe = false) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'XmlSyntaxError';
    this.reason = reason;
    this.unsafe = unsafe;
    this.line = line;
    this.column = column;
  }
}

/** The reason is phrased for a person who has to fix the file, not for someone who knows the XML spec. */
const DOCTYPE_REASON =
  'the file contains a DOCTYPE declaration; DTDs and entity declarations are refused because they can read ' +
  'local files (XXE) or expand without bound. Remove the <!DOCTYPE ...> block';

const UNDEFINED_ENTITY_REASON =
  'undefined entity reference; only &amp; &lt; &gt; &quot; &apos; and numeric references such as &#38; are ' +
  'allowed (entities are never expanded)';

/** Annotation files nest 4 or 5 deep; the readers of the tree recurse, so a bound keeps the stack safe. */
export const MAX_DEPTH = 64;

/**
 * Parses `text` into a tree. Throws XmlSyntaxError for anything that is not one well-formed element, for a
 * DOCTYPE and for an undefined entity reference.
 */
export function parseXmlTree(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const fail = (reason: string, unsafe = false): never => {
    throw new XmlSyntaxError(reason, parser.line, parser.column, unsafe);
  };
  // saxes prefixes its messages with "line:column: "; ours already carry the position.
  parser.on('error', (err) => {
    const reason = err.message.replace(/^\d+:\d+: /, '').replace(/\.$/, '');
    if (reason === 'undefined entity') fail(UNDEFINED_ENTITY_REASON, true);
    fail(reason);
  });
  parser.on('doctype', () => fail(DOCTYPE_REASON, true));
  parser.on('opentag', (tag) => {
    if (stack.length >= MAX_DEPTH) fail(`elements are nested more than ${MAX_DEPTH} deep`, true);
    const el: XmlElement = {
      name: tag.name,
      attributes: { ...tag.attributes },
      children: [],
      text: '',
      line: parser.line,
    };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (t: string) => {
    const top = stack[stack.length - 1];
    if (top) top.text += t;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  parser.write(text).close();
  if (!root) return fail('the document has no root element');
  return root;
}

/** The direct children called `name`, in document order. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}
