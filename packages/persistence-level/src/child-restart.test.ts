// Issue 8 "done when": a restart of any one of the three parties (A, B, hub I) in the middle of a
// virtual channel's life, and of either party of a sub-channel tree, on LevelDB (closed and reopened
// from disk), ends with correct balances after settlement. The scenarios live in @perun-ts/testing.
import type { PersistRestorer } from "@perun-ts/core";
import {
  type ScenarioContext,
  type StoreFactory,
  simScenarioSetup,
  subChannelRestart,
  tcpNetwork,
  virtualChannelRestart,
} from "@perun-ts/testing";
import { afterEach, describe, it } from "vitest";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

/** One LevelDB per party in a temporary directory; `reopen` closes it and opens it again. */
class LevelStores implements StoreFactory {
  readonly #dirs = new Map<PersistRestorer, { path: string; remove: () => void }>();

  async open(_name: string, ctx: ScenarioContext): Promise<PersistRestorer> {
    const dir = tempDir("perun-child-restart-");
    const pr = await LevelPersistRestorer.open(dir.path, {
      backend: ctx.setup.backend,
      apps: ctx.apps,
      durable: true,
    });
    this.#dirs.set(pr, dir);
    return pr;
  }

  async reopen(old: PersistRestorer, _name: string, ctx: ScenarioContext): Promise<PersistRestorer> {
    const dir = this.#dirs.get(old);
    if (!dir) throw new Error("reopen of an unknown store");
    await old.close();
    this.#dirs.delete(old);
    const pr = await LevelPersistRestorer.open(dir.path, {
      backend: ctx.setup.backend,
      apps: ctx.apps,
      durable: true,
    });
    this.#dirs.set(pr, dir);
    return pr;
  }

  async cleanup(): Promise<void> {
    for (const [pr, dir] of this.#dirs) {
      await pr.close();
      dir.remove();
    }
    this.#dirs.clear();
  }
}

let stores = new LevelStores();
afterEach(async () => {
  await stores.cleanup();
  stores = new LevelStores();
});

for (const setup of [
  simScenarioSetup(),
  simScenarioSetup({ name: "sim over NetBus (TCP)", network: tcpNetwork }),
]) {
  describe(`restart mid-life on LevelDB: ${setup.name}`, () => {
    for (const who of ["alice", "bob", "ingrid"] as const) {
      it(`virtual channel A-B through I: ${who} restarts; settled, A 7, B 13, I 20`, () =>
        virtualChannelRestart(setup, who, stores));
    }
    it("sub-channel tree (3 depths): Tim restarts; settled bottom-up, 98/102", () =>
      subChannelRestart(setup, "tim", stores));
  });
}
