/** Small DOM helpers shared by components (not imported by the Node tests). */

/** Fields where keys belong to the field (typing, arrows on sliders), so global shortcuts stand aside. */
export function isEditable(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  if (t.isContentEditable || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return true;
  if (t instanceof HTMLInputElement)
    return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(t.type);
  return false;
}

/** Svelte action: paints RGBA pixels into a canvas whenever they change. */
export function paintRgba(
  canvas: HTMLCanvasElement,
  p: { rgba: Uint8ClampedArray; width: number; height: number },
): { update(p: { rgba: Uint8ClampedArray; width: number; height: number }): void } {
  const draw = (q: typeof p) => {
    canvas.width = q.width;
    canvas.height = q.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(q.rgba), q.width, q.height), 0, 0);
  };
  draw(p);
  return { update: draw };
}

export function download(fileName: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Fetches a float32 explanation map (same-origin, with the session cookie). */
export async function fetchMap(url: string): Promise<ArrayBuffer> {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`explanation map ${url}: HTTP ${res.status}`);
  return res.arrayBuffer();
}
