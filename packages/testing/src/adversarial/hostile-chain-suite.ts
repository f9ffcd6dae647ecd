import { describe, it } from "vitest";
import type { ScenarioSetup } from "../scenarios/setup.js";
import {
  invalidProgressions,
  neverFundingPeer,
  peerConcludesFirst,
  staleRegistrationRaces,
} from "./hostile-chain.js";

/**
 * Registers the hostile-chain scenarios as vitest tests for `setup` (a backend reruns them with its
 * own ledger, e.g. on anvil):
 *
 * @example
 * ```ts
 * describeHostileChainScenarios(simScenarioSetup());
 * ```
 */
export function describeHostileChainScenarios(setup: ScenarioSetup): void {
  describe(`hostile chain: ${setup.name}`, () => {
    it("stale registrations in repeated races while the victim is offline; conclude first; double withdraw", () =>
      staleRegistrationRaces(setup));
    it("invalid progressions of an app channel", () => invalidProgressions(setup));
    it("a peer that never funds, then registers and withdraws", () => neverFundingPeer(setup));
    it("the peer concludes first", () => peerConcludesFirst(setup));
  });
}
