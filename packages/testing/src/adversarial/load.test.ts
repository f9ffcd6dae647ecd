import { selectSecp256k1 } from "@perun-ts/backend-sim";
import { describe, expect, it } from "vitest";
import { runLoad } from "./load.js";

// LOAD_CLIENTS / LOAD_CHANNELS (per client) / LOAD_UPDATES / LOAD_SEED scale or replay a run,
// e.g. LOAD_CLIENTS=4 LOAD_CHANNELS=250 LOAD_UPDATES=10 for 1,000 channels; LOAD_VERBOSE=1 prints the phases.
const clients = Number(process.env.LOAD_CLIENTS ?? 4);
const channelsPerClient = Number(process.env.LOAD_CHANNELS ?? 10);
const updatesPerChannel = Number(process.env.LOAD_UPDATES ?? 10);
const seed = Number(process.env.LOAD_SEED ?? Date.now() % 2 ** 31);

describe("load: a hub with many channels, concurrent updates and random aborts", () => {
  for (const network of ["local", "tcp"] as const) {
    it(`${clients}×${channelsPerClient} channels, ${updatesPerChannel} updates each, over ${network}: no deadlock, no divergence`, async () => {
      const report = await runLoad({
        clients,
        channelsPerClient,
        updatesPerChannel,
        abortRate: 0.15,
        // Aborts fire while the peer answers (the regression case of two honest clients signing
        // different states of one version); LOAD_ABORT_IN_FLIGHT=0 aborts before sending instead.
        abortWhen: process.env.LOAD_ABORT_IN_FLIGHT === "0" ? "before-send" : "in-flight",
        network,
        seed,
        ...(process.env.LOAD_OPEN_BATCH ? { openBatch: Number(process.env.LOAD_OPEN_BATCH) } : {}),
        secp256k1: selectSecp256k1({ prefer: "native" }),
        ...(process.env.LOAD_VERBOSE
          ? { progress: (line: string) => console.log(`load (${network}): ${line}`) }
          : {}),
      });
      console.log(`load (${network}, seed ${seed}): ${JSON.stringify(report)}`);
      expect(report.unexpectedTimeouts).toBe(0);
      expect(report.diverged).toBe(0);
      expect(report.settled).toBe(report.channels);
      expect(report.updatesOk).toBeGreaterThan(0);
    }, 300_000);
  }
});
