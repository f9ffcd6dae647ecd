// The role-based client scenarios of @perun-ts/testing on anvil with the Perun contracts.
import { describeClientScenarios } from "@perun-ts/testing";
import { ethScenarioSetup } from "./eth-scenario-setup.test-helper.js";

describeClientScenarios(ethScenarioSetup("eth on anvil (serializing LocalBus)").setup);
