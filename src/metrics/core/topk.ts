/**
 * How many of the k highest-valued pixels lie in the mask, with ties resolved by their expectation.
 *
 * Quantus takes numpy's argsort order, which for tied values is an implementation detail. Here, when the k-th
 * place falls inside a group of equal values, the group's places are shared out in proportion: with g pixels
 * strictly above the tie value (g_in of them in the mask) and m tied pixels (m_in in the mask), the hits are
 * g_in + (k − g)·m_in / m — the mean over all tie-breaking orders. A constant map thus scores |mask| / N·k.
 */
export function expectedTopKHits(values: ArrayLike<number>, mask: ArrayLike<number>, k: number): number {
  const n = values.length;
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new Error(`top-k: k must be an integer in [1, ${n}], got ${k}`);
  const sorted = Float64Array.from(values).sort();
  const t = sorted[n - k]; // the k-th largest value
  let above = 0;
  let aboveIn = 0;
  let tied = 0;
  let tiedIn = 0;
  for (let i = 0; i < n; i++) {
    const inMask = mask[i] !== 0;
    if (values[i] > t) {
      above++;
      if (inMask) aboveIn++;
    } else if (values[i] === t) {
      tied++;
      if (inMask) tiedIn++;
    }
  }
  return aboveIn + ((k - above) * tiedIn) / tied;
}
