// The Petra/Robert restart scenario of @perun-ts/testing (spec §9.2; restore, sync, settle) with
// both parties on LevelDB stores — durable and non-durable — over a serializing LocalBus and TCP.
import type { PersistRestorer } from "@perun-ts/core";
import { petraRobertRestart, type ScenarioContext, simScenarioSetup, tcpNetwork } from "@perun-ts/testing";
import { afterAll, describe, it } from "vitest";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

describe("persistence Petra/Robert on LevelDB", () => {
  const dirs: { remove: () => void }[] = [];
  afterAll(() => {
    for (const d of dirs) d.remove();
  });

  const run = async (setup: ReturnType<typeof simScenarioSetup>, withApp: boolean, durable: boolean) => {
    const stores: LevelPersistRestorer[] = [];
    const newStore = async (ctx: ScenarioContext): Promise<PersistRestorer> => {
      const dir = tempDir("perun-petra-robert-");
      dirs.push(dir);
      const s = await LevelPersistRestorer.open(dir.path, {
        backend: ctx.setup.backend,
        apps: ctx.apps,
        durable,
      });
      stores.push(s);
      return s;
    };
    try {
      await petraRobertRestart(setup, withApp, newStore);
    } finally {
      for (const s of stores) await s.close();
    }
  };

  for (const durable of [false, true]) {
    it(`restart, restore, sync, settle (durable: ${durable})`, () => run(simScenarioSetup(), false, durable));
    it(`with the payment app (durable: ${durable})`, () => run(simScenarioSetup(), true, durable));
  }
  it("over NetBus (TCP)", () =>
    run(simScenarioSetup({ name: "sim over TCP", network: tcpNetwork }), false, true));
});
