import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GAS_REPORT, gasBench } from "./bench-gas.js";

const dir = mkdtempSync(join(tmpdir(), "perun-bench-gas-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function report(content: string): string {
  const p = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, content);
  return p;
}

describe("gasBench", () => {
  it("reads the contracts' committed report, with the original figures", async () => {
    const rows = await gasBench(GAS_REPORT);
    expect(rows.length).toBeGreaterThan(5);
    for (const r of rows) expect(r.value).toBeGreaterThan(20_000);
    expect(rows.some((r) => r.note?.startsWith("original "))).toBe(true);
  });

  it("shows the change against the original", async () => {
    const rows = await gasBench(report('{"operations":{"op":{"gas":90,"original":100},"new":{"gas":5}}}'));
    expect(rows.map((r) => [r.metric, r.value, r.note])).toEqual([
      ["op", 90, "original 100 (−10.0 %)"],
      ["new", 5, "no original figure"],
    ]);
  });

  it.each([
    ["not json", /cannot read the gas report/],
    ['{"ops":{}}', /no "operations" object/],
    ['{"operations":{"x":{"gas":"1"}}}', /operation "x" has no numeric "gas"/],
  ])("rejects a malformed report %j with a reason", async (content, reason) => {
    await expect(gasBench(report(content))).rejects.toThrow(reason);
  });

  it("rejects a missing report with a reason", async () => {
    await expect(gasBench(join(dir, "missing.json"))).rejects.toThrow(
      /cannot read the gas report .*missing\.json/,
    );
  });
});
