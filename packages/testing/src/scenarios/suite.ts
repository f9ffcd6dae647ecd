import { describe, it } from "vitest";
import { subChannelRestart, virtualChannelRestart } from "./child-restart.js";
import { concurrentUpdates } from "./concurrent-updates.js";
import { disputeMalloryCarol } from "./dispute.js";
import { fundingTimeoutRecovery } from "./funding-timeout.js";
import { happyAliceBob } from "./happy.js";
import { hostileVirtualChannelFunding, virtualChannelHubOffline } from "./hub-scenarios.js";
import { invalidMessagesRejected } from "./invalid-messages.js";
import { progressionPaulPaula } from "./progression.js";
import { rejectedUpdate } from "./rejected-update.js";
import { petraRobertRestart } from "./restart.js";
import type { ScenarioSetup } from "./setup.js";
import { hostileSubChannelFunding, subChannelDispute, subChannelsHappy } from "./sub-channels.js";
import {
  virtualChannelDispute,
  virtualChannelHubRejects,
  virtualChannelOptimistic,
} from "./virtual-channels.js";

/**
 * Registers the role-based client scenarios (spec §9.2) as vitest tests for `setup`. A backend
 * reruns them with its own setup:
 *
 * @example
 * ```ts
 * describeClientScenarios(simScenarioSetup());
 * ```
 */
export function describeClientScenarios(setup: ScenarioSetup): void {
  describe(`client scenarios: ${setup.name}`, () => {
    it("happy Alice/Bob without app", () => happyAliceBob(setup, false));
    it("happy Alice/Bob with the payment app", () => happyAliceBob(setup, true));
    it("dispute Mallory/Carol", () => disputeMalloryCarol(setup));
    it("progression Paul/Paula", () => progressionPaulPaula(setup));
    it("rejected update", () => rejectedUpdate(setup));
    it("invalid update and proposal answered with a rejection", () => invalidMessagesRejected(setup));
    it("concurrent updates", () => concurrentUpdates(setup));
    it("funding timeout with recovery of the deposit", () => fundingTimeoutRecovery(setup));
    it("sub-channels Susie/Tim: nested, settled bottom-up", () => subChannelsHappy(setup));
    it("sub-channel dispute: stale sub-state refuted", () => subChannelDispute(setup));
    it("hostile sub-channel funding rejected with the reason", () => hostileSubChannelFunding(setup));
    it("virtual channel A-B through hub I, settled off-chain", () => virtualChannelOptimistic(setup));
    it("virtual channel dispute: A 7, B 13, I 20", () => virtualChannelDispute(setup));
    it("hub rejects a virtual channel by policy", () => virtualChannelHubRejects(setup));
    it("hostile virtual channel funding rejected by the hub with the reason", () =>
      hostileVirtualChannelFunding(setup));
    it("hub offline during a virtual channel's life: A 7, B 13, I 20", () => virtualChannelHubOffline(setup));
    for (const who of ["alice", "bob", "ingrid"] as const) {
      it(`virtual channel: ${who} restarts mid-life, settled: A 7, B 13, I 20`, () =>
        virtualChannelRestart(setup, who));
    }
    it("sub-channels: Tim restarts mid-life (3 depths), settled", () => subChannelRestart(setup, "tim"));
    it("sub-channels: Susie restarts mid-life (3 depths), settled", () => subChannelRestart(setup, "susie"));
    it("persistence Petra/Robert: restart, restore, sync, settle", () => petraRobertRestart(setup, false));
    it("persistence Petra/Robert with the payment app", () => petraRobertRestart(setup, true));
  });
}
