import { describe, expect, it } from "vitest";
import { formatNumber, markdownTable, textTable } from "./report.js";
import { notAvailable, type Row } from "./row.js";

const rows: Row[] = [
  {
    benchmark: "update-seq",
    metric: "throughput",
    value: 1234.5,
    unit: "updates/s",
    floor: 2000,
    ratio: 0.61725,
  },
  notAvailable("open", "virtual", "no hub | yet"),
];

describe("report", () => {
  it("formats numbers by magnitude", () => {
    expect(formatNumber(1234.5)).toBe("1,235");
    expect(formatNumber(12.345)).toBe("12.3");
    expect(formatNumber(1.2345)).toBe("1.23");
    expect(formatNumber(0.012345)).toBe("0.012");
  });

  it("prints values, floors, ratios and reasons", () => {
    const t = textTable(rows);
    expect(t).toContain("1,235 updates/s");
    expect(t).toContain("2,000 updates/s");
    expect(t).toContain("62 %");
    expect(t).toContain("not available: no hub | yet");
    expect(t.split("\n")).toHaveLength(4);
  });

  it("escapes pipes in Markdown cells", () => {
    const md = markdownTable(rows);
    expect(md).toContain("no hub \\| yet");
    expect(md.split("\n")[1]).toBe("|---|---|---:|---:|---:|---|---|");
  });
});
