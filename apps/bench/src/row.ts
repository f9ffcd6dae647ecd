/** One figure of the report: a table row and an entry of the JSON results. */
export interface Row {
  readonly benchmark: string;
  readonly metric: string;
  /** The measured value; null when the benchmark could not run here (see `note`). */
  readonly value: number | null;
  readonly unit: string;
  /** The floor/ceiling this figure is compared against, from the same run. */
  readonly floor?: number;
  /** value / floor (for latencies: floor / value), so 1.0 means "at the physical limit". */
  readonly ratio?: number;
  /** The target of issue 12, as text ("≥ 70 % of floor", "≤ 50 MB"). */
  readonly target?: string;
  readonly note?: string;
}

/** A row for a benchmark that cannot run on this machine: never a made-up figure. */
export function notAvailable(benchmark: string, metric: string, reason: string): Row {
  return { benchmark, metric, value: null, unit: "", note: `not available: ${reason}` };
}
