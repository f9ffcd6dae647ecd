// Smoke test of the whole harness: `--quick` runs every benchmark for real (node processes, TCP,
// LevelDB, anvil if it starts) and must write sane JSON. It asserts no timing, only shapes.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BENCHMARKS } from "./args.js";

const appDir = join(import.meta.dirname, "..");
const outDir = mkdtempSync(join(tmpdir(), "perun-bench-smoke-"));

function bench(args: string[]) {
  return spawnSync(process.execPath, [join(appDir, "dist", "main.js"), ...args], {
    cwd: appDir,
    encoding: "utf8",
    timeout: 120_000,
  });
}

interface ResultRow {
  benchmark: string;
  metric: string;
  value: number | null;
  unit: string;
  floor?: number;
  ratio?: number;
  note?: string;
}

beforeAll(() => {
  // The harness runs compiled code in child processes: build it (a no-op when up to date; turbo
  // has built it already). A type error elsewhere in the workspace fails the typecheck, not this
  // smoke test, as long as the bench itself was emitted.
  const build = spawnSync("npx", ["tsc", "-b"], { cwd: appDir, encoding: "utf8", timeout: 120_000 });
  if (build.status !== 0) process.stderr.write(`tsc -b reported errors:\n${build.stdout}${build.stderr}\n`);
  expect(existsSync(join(appDir, "dist", "main.js")), "apps/bench/dist/main.js was not built").toBe(true);
}, 150_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("pnpm bench --quick", () => {
  it("runs every benchmark and writes sane JSON", () => {
    const out = join(outDir, "all.json");
    const run = bench(["--quick", "--out", out]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("update-seq");

    const json = JSON.parse(readFileSync(out, "utf8"));
    expect(json.schema).toBe(1);
    expect(json.quick).toBe(true);
    expect(json.node).toBe(process.version);
    expect(json.signer).toEqual({ requested: "noble", used: "noble" });
    expect(json.machine.cpus).toBeGreaterThan(0);
    expect(json.commit === null || /^[0-9a-f]{40}$/.test(json.commit.sha)).toBe(true);
    expect(json.failures).toEqual([]);

    const rows: ResultRow[] = json.rows;
    expect(new Set(rows.map((r) => r.benchmark))).toEqual(new Set(BENCHMARKS));
    for (const r of rows) {
      if (r.value === null) {
        expect(r.note, `${r.benchmark} ${r.metric}`).toMatch(/^not available: .+/);
      } else {
        expect(Number.isFinite(r.value) && r.value > 0, `${r.benchmark} ${r.metric}`).toBe(true);
      }
    }
    // Every update figure is compared with its floor from the same run.
    for (const r of rows.filter((x) => x.benchmark.startsWith("update-"))) {
      expect(r.floor).toBeGreaterThan(0);
      expect(r.ratio).toBeGreaterThan(0);
    }
    const scale = rows.filter((r) => r.benchmark === "scale");
    expect(scale.map((r) => r.unit)).toEqual(["MB", "s", "opens/s"]);
  }, 120_000);

  it("runs one benchmark alone, and refuses an unknown one", () => {
    const out = join(outDir, "gas.json");
    const run = bench(["gas", "--out", out]);
    expect(run.status, run.stderr).toBe(0);
    const json = JSON.parse(readFileSync(out, "utf8"));
    expect(json.benchmarks).toEqual(["gas"]);
    expect(json.rows.length).toBeGreaterThan(0);
    expect(json.rows.every((r: ResultRow) => r.benchmark === "gas" && r.unit === "gas")).toBe(true);

    const bad = bench(["update-sequential"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown benchmark "update-sequential"');
  }, 60_000);
});
