/** Renders rows as a plain text table with a header rule; the first column is left-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("   ");
  const rule = widths.map((w) => "-".repeat(w)).join("   ");
  return [line(header), rule, ...rows.map(line)].join("\n");
}
