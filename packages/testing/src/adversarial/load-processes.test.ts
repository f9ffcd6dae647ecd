import { describe, expect, it } from "vitest";
import { runProcessLoad } from "./load-processes.test-helper.js";

// A hub process and client processes over TCP, on the built packages (the test command builds
// first; alone: `npx tsc -b && npx vitest run src/adversarial/load-processes.test.ts`).
// LOADP_CLIENTS / LOADP_CHANNELS (per client) / LOADP_UPDATES / LOADP_SEED scale or replay a run;
// LOADP_VERBOSE=1 prints the phases; LOADP_FULL=1 is the full size: 4 clients × 250 channels (1,000), 10 updates each.
const full = process.env.LOADP_FULL === "1";
const clients = Number(process.env.LOADP_CLIENTS ?? 4);
const channelsPerClient = Number(process.env.LOADP_CHANNELS ?? (full ? 250 : 10));
const updatesPerChannel = Number(process.env.LOADP_UPDATES ?? 10);
const seed = Number(process.env.LOADP_SEED ?? Date.now() % 2 ** 31);

describe("load across processes: a hub process and client processes over TCP", () => {
  it(`1 hub + ${clients} client processes, ${clients}×${channelsPerClient} channels, ${updatesPerChannel} updates each: nothing lost or diverged`, async () => {
    const report = await runProcessLoad({
      clients,
      channelsPerClient,
      updatesPerChannel,
      seed,
      ...(process.env.LOADP_VERBOSE
        ? { progress: (line: string) => console.log(`load-processes: ${line}`) }
        : {}),
    });
    console.log(`load-processes (seed ${seed}): ${JSON.stringify(report)}`);
    expect(report.processes).toBe(clients + 1);
    expect(report.channels).toBe(clients * channelsPerClient);
    expect(report.unexpectedTimeouts).toBe(0);
    expect(report.diverged).toBe(0);
    expect(report.wrongBalance).toBe(0);
    expect(report.settled).toBe(report.channels);
    expect(report.wrongLedgerBalances).toBe(0);
    expect(report.updatesOk).toBeGreaterThan(0);
    expect(report.updatesOk + report.updatesRefused).toBe(report.channels * updatesPerChannel);
  }, 600_000);
});
