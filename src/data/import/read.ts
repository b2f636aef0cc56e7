/**
 * Reading one scanned image and its annotation: the per-file work of an import (read, hash, PNG proof or sharp
 * probe, XML read, parse and repair). It runs on the main thread and in the reader threads (read-worker.ts), so
 * its input and output are plain data that can cross a thread boundary.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type ImageProbe, type KnownImage, type ProbeOptions, probeImage } from '../image.js';
import { MAX_ANNOTATION_BYTES } from '../limits.js';
import type { DataWarning, VocAnnotation } from '../types.js';
import { parseVoc, sanitizeBoxes, VocParseError } from '../voc/parse.js';

/** Files read at once by one thread: sharp's probes are asynchronous and overlap on libuv's threads. */
export const READS_IN_FLIGHT = 8;

export interface ImportProblem {
  file: string;
  message: string;
}

/** What to read for one image: paths relative to the dataset root, and what the store knows of it. */
export interface ReadJob {
  relPath: string;
  annotationRelPath?: string;
  /** An earlier import's record of this path: an unchanged file is then not decoded again. */
  known?: KnownImage;
}

/** The outcome for one image: its probe (and annotation), or the problem that made it be skipped. */
export type ReadOutcome =
  | { probe: ImageProbe; annotation?: VocAnnotation; warnings: DataWarning[] }
  | { error: ImportProblem; warnings: DataWarning[] };

/**
 * Reads one image and its annotation. A problem with either skips the image and comes back as `error` (naming the
 * file and the problem), never thrown; repairs come back as `warnings`, in the order they were made.
 */
export async function readImageFiles(
  root: string,
  job: ReadJob,
  maxPixels: number | undefined,
): Promise<ReadOutcome> {
  const file = join(root, job.relPath);
  const warnings: DataWarning[] = [];
  const probeOptions: ProbeOptions = {
    ...(job.known ? { known: job.known } : {}),
    ...(maxPixels !== undefined ? { maxPixels } : {}),
  };
  try {
    const probe = await probeImage(file, probeOptions);
    if (!job.annotationRelPath) return { probe, warnings };
    const xmlFile = join(root, job.annotationRelPath);
    const parsed = parseVoc(readAnnotation(xmlFile), xmlFile, { imageName: basename(job.relPath) });
    warnings.push(...parsed.warnings);
    const size = { width: probe.width, height: probe.height, depth: probe.channels };
    const fixed = sanitizeBoxes(parsed.annotation, size, xmlFile);
    warnings.push(...fixed.warnings);
    return { probe, annotation: fixed.annotation, warnings };
  } catch (e) {
    const err = e as Error & { file?: string };
    return { error: { file: err.file ?? file, message: err.message }, warnings };
  }
}

/** An annotation file's bytes; refused above MAX_ANNOTATION_BYTES (real ones are a few kilobytes). */
function readAnnotation(file: string): Buffer {
  const size = statSync(file).size;
  if (size > MAX_ANNOTATION_BYTES) {
    throw new VocParseError(
      file,
      `the file has ${size} bytes, more than the ${MAX_ANNOTATION_BYTES} an annotation may have; is it one?`,
    );
  }
  return readFileSync(file);
}
