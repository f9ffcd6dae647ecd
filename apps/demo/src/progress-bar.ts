/** A one-line text progress bar: `[##########----------]  500/1000`. */
export function progressBar(done: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(frac * width);
  const n = String(total).length;
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(done).padStart(n)}/${total}`;
}
