/**
 * Bytes of an XML file to text. Annotation tools write UTF-8 almost always, but Windows tools sometimes write
 * UTF-16 with a byte-order mark or declare a legacy encoding, and some write Latin-1 names while declaring UTF-8.
 */
import { TextDecoder } from 'node:util';

export interface DecodedText {
  text: string;
  /** Set when the bytes had to be guessed at; the caller turns it into a DataWarning. */
  warning?: string;
}

/** Thrown for an encoding that cannot be decoded at all. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

// The declaration is ASCII in every encoding we can meet without a BOM, so reading its bytes as Latin-1 is safe.
const DECLARED_ENCODING = /^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']/;

function isUtf8Label(label: string): boolean {
  return /^utf-?8$/i.test(label);
}

export function decodeXmlBytes(bytes: Uint8Array): DecodedText {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return decodeUtf8(bytes.subarray(3));
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe)
    return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)) };
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)) };

  const head = Buffer.from(bytes.subarray(0, 256)).toString('latin1');
  const declared = DECLARED_ENCODING.exec(head)?.[1];
  if (declared !== undefined && !isUtf8Label(declared)) {
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(declared);
    } catch {
      throw new DecodeError(
        `the XML declaration names the encoding "${declared}", which cannot be decoded here; ` +
          're-save the file as UTF-8',
      );
    }
    return { text: decoder.decode(bytes) };
  }
  return decodeUtf8(bytes);
}

function decodeUtf8(bytes: Uint8Array): DecodedText {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    // Reading on as Windows-1252 keeps every byte (names come out as the tool probably meant them) instead of
    // rejecting a file whose only fault is a mislabelled accent.
    return {
      text: new TextDecoder('windows-1252').decode(bytes),
      warning: 'the file is not valid UTF-8; it was read as Windows-1252, check non-ASCII names',
    };
  }
}

/** Text given as a string may still start with the BOM it had on disk. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
