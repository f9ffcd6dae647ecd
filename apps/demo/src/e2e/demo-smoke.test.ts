import { beforeAll, describe, expect, it } from "vitest";
import { requireBuiltCli, runCli } from "./cli-process.test-helper.js";

describe("the one-command demo (sim backend, shortened)", () => {
  beforeAll(requireBuiltCli);

  it("runs both channels to the summary and exits 0", async () => {
    const r = await runCli(["demo", "--backend", "sim", "--payments", "20"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // 20 × 0.001 ETH moved from Alice to Bob in channel 1; in channel 2 Bob paid Alice 3 ETH.
    expect(r.stdout).toMatch(/after channel 1 \(cooperative close\)\s+99\.98 ETH\s+100\.02 ETH/);
    expect(r.stdout).toMatch(/after channel 2 \(dispute\)\s+102\.98 ETH\s+95\.02 ETH/);
    expect(r.stdout).toMatch(/held on chain, not yet withdrawn\s+0 ETH\s+2 ETH/);
    expect(r.stdout).not.toContain("gas spent"); // the sim ledger has no gas
    expect(r.stdout).toMatch(/STALE version 0 \(latest is 3\); the watchtower refutes it/);
    expect(r.stdout).toContain("demo finished successfully");
  });

  it("rejects a bad flag with a one-line reason and exit code 2", async () => {
    const r = await runCli(["demo", "--payments", "many"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain('--payments "many" must be a whole number');
  });
});

describe("the one-command demo on a local anvil (shortened)", () => {
  beforeAll(requireBuiltCli);

  it("deploys the contracts, runs both channels, reports gas and exits 0", async () => {
    const r = await runCli(["demo", "--backend", "eth", "--payments", "10"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/contracts deployed for ≈ 0\.\d+ ETH of gas/);
    // Balances fall short of the channel outcomes by the gas only (checked by the demo itself).
    expect(r.stdout).toMatch(/after channel 1 \(cooperative close\)\s+≈ 99\.98\d* ETH\s+≈ 100\.00\d* ETH/);
    expect(r.stdout).toMatch(/held on chain, not yet withdrawn\s+0 ETH\s+2 ETH/);
    expect(r.stdout).toMatch(/gas spent\s+≈ 0\.\d+ ETH\s+≈ 0\.\d+ ETH/);
    expect(r.stdout).toMatch(/STALE version 0 \(latest is 3\); the watchtower refutes it/);
    expect(r.stdout).toContain("demo finished successfully");
  }, 60_000);
});
