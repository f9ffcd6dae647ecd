import { afterAll, expect } from "vitest";
import { simScenarioSetup, tcpNetwork } from "./sim-setup.js";
import { describeClientScenarios } from "./suite.js";

describeClientScenarios(simScenarioSetup());
describeClientScenarios(simScenarioSetup({ name: "sim over NetBus (TCP)", network: tcpNetwork }));

afterAll(() => {
  // Every client, watcher and bus was closed: no socket or server may be left open.
  const open = process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP"));
  expect(open).toEqual([]);
});
