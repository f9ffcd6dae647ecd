/** The `q`-quantile (0..1) of `values` by nearest rank; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** The median of `values` (nearest rank). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Milliseconds elapsed since `start` (a `process.hrtime.bigint()` reading). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Operations per second of the synchronous `op`: `rounds` timed rounds of at least `minMs` each
 * (after one warm-up round); returns the median rate and the spread across rounds.
 */
export function measureRate(
  op: () => void,
  opts: { readonly rounds: number; readonly minMs: number },
): { readonly perSecond: number; readonly min: number; readonly max: number } {
  const round = (): number => {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      for (let i = 0; i < 16; i++) op();
      n += 16;
      elapsed = msSince(start);
    } while (elapsed < opts.minMs);
    return (n * 1000) / elapsed;
  };
  round();
  const rates: number[] = [];
  for (let r = 0; r < opts.rounds; r++) rates.push(round());
  return { perSecond: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
}
