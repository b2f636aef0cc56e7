/** Time left of a job from its progress: the rate since the first report, so start-up time does not count. */
export interface EtaAnchor {
  /** ms timestamp and `done` of the first progress report. */
  t0: number;
  done0: number;
}

/** Seconds left at time `now` with `done` of `total`; null until there is a rate to go by. */
export function etaSeconds(
  anchor: EtaAnchor | null,
  now: number,
  done: number,
  total: number,
): number | null {
  if (anchor === null || total <= 0) return null;
  if (done >= total) return 0;
  const progressed = done - anchor.done0;
  const elapsed = (now - anchor.t0) / 1000;
  if (progressed <= 0 || elapsed <= 0) return null;
  return (elapsed / progressed) * (total - done);
}
