/**
 * Bounds on what an imported file may ask of the machine. Datasets come from anywhere, and a 50 KB PNG can
 * declare 16000×16000 pixels (1 GiB once decoded); a class name read from XML is stored once and then sent with
 * every dataset listing. These limits turn such files into a clear "skipped: <file>: …" at import time.
 */

/**
 * Largest image accepted, in pixels (width × height): 40 megapixels covers every common camera and dataset
 * (VOC, COCO, ImageNet are well below 1 MP; a 50 MP camera frame is the exception), while keeping one decode
 * under ~160 MB. Configurable per import (`ImportOptions.maxPixels`, `xwb import --max-pixels`).
 */
export const DEFAULT_MAX_PIXELS = 40_000_000;

/** Longest class (object or part) name, in characters. Real names are words ("person", "pottedplant"). */
export const MAX_CLASS_NAME = 200;

/** Longest free-text value kept from an annotation (a pose, an attribute value); longer ones are dropped. */
export const MAX_TEXT_VALUE = 65_536;

/** Largest annotation file read, in bytes: a VOC file is a few kilobytes, 32 MiB leaves room for any real one. */
export const MAX_ANNOTATION_BYTES = 32 * 1024 * 1024;

/** The reason a width × height is refused, or undefined when it is within `maxPixels`. */
export function pixelLimitProblem(width: number, height: number, maxPixels: number): string | undefined {
  const n = width * height;
  if (n <= maxPixels) return undefined;
  const mp = (v: number) => `${(v / 1e6).toFixed(1)} megapixels`;
  return (
    `${width}×${height} is ${mp(n)}, more than the limit of ${mp(maxPixels)} ` +
    '(raise it with --max-pixels if the image is genuine)'
  );
}
