import { describe, expect, it } from "vitest";
import { measureRate, median, quantile } from "./stats.js";

describe("quantile", () => {
  it("uses the nearest rank", () => {
    const xs = [5, 1, 4, 2, 3];
    expect(median(xs)).toBe(3);
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 0.99)).toBe(5);
    expect(quantile([...Array(100).keys()], 0.99)).toBe(98);
  });

  it("is NaN for no values and does not reorder its input", () => {
    expect(quantile([], 0.5)).toBeNaN();
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe("measureRate", () => {
  it("calls the operation and reports a positive rate with min ≤ median ≤ max", () => {
    let calls = 0;
    const r = measureRate(() => calls++, { rounds: 3, minMs: 1 });
    expect(calls).toBeGreaterThan(0);
    expect(r.min).toBeLessThanOrEqual(r.perSecond);
    expect(r.perSecond).toBeLessThanOrEqual(r.max);
    expect(r.min).toBeGreaterThan(0);
  });
});
