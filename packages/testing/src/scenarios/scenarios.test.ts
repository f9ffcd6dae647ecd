import { afterAll, expect } from "vitest";
import { simScenarioSetup, tcpNetwork } from "./sim-setup.js";
import { describeClientScenarios } from "./suite.js";

describeClientScenarios(simScenarioSetup());
describeClientScenarios(simScenarioSetup({ name: "sim over NetBus (TCP)", network: tcpNetwork }));

afterAll(async () => {
  // Every client, watcher and bus was closed: no socket or server may stay open. libuv releases a
  // closed server's handle a little after `close` resolves, so give it a few turns first.
  const openTcp = () => process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP"));
  for (let i = 0; i < 100 && openTcp().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(openTcp()).toEqual([]);
});
