/**
 * A one-line progress bar with rate and ETA on stderr. It draws only when stderr is a terminal (and not in
 * --json mode), so logs and pipes stay clean.
 */
import { type EtaAnchor, etaSeconds } from '../jobs/eta.js';

export interface Progress {
  update(done: number, total?: number, note?: string): void;
  done(message?: string): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

export function renderBar(
  label: string,
  done: number,
  total: number,
  elapsedS: number,
  width = 28,
  etaS?: number | null,
): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(frac * width);
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const eta = etaS !== undefined ? (etaS ?? Number.NaN) : rate > 0 ? (total - done) / rate : Number.NaN;
  const pct = `${Math.floor(frac * 100)}`.padStart(3);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${done}/${total} ETA ${formatDuration(eta)}`;
}

export function createProgress(
  label: string,
  opts: {
    enabled?: boolean;
    stream?: NodeJS.WriteStream;
    /** ETA from the rate since the first update (src/jobs/eta.ts), so start-up time does not count. */
    etaFromFirstUpdate?: boolean;
  } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  const enabled = (opts.enabled ?? true) && stream.isTTY === true;
  const start = Date.now();
  let last = 0;
  let total = 0;
  let anchor: EtaAnchor | null = null;
  return {
    update(done, t, note) {
      if (t !== undefined) total = t;
      const now = Date.now();
      anchor ??= { t0: now, done0: done };
      if (!enabled) return;
      if (now - last < 80 && done < total) return;
      last = now;
      const eta = opts.etaFromFirstUpdate ? etaSeconds(anchor, now, done, total) : undefined;
      const line = renderBar(label, done, total, (now - start) / 1000, 28, eta) + (note ? ` ${note}` : '');
      stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1)}\x1b[K`);
    },
    done(message) {
      if (enabled) stream.write('\r\x1b[K');
      if (message && enabled) stream.write(`${message}\n`);
    },
  };
}
