import { simScenarioSetup } from "./sim-setup.js";
import { describeClientScenarios } from "./suite.js";

describeClientScenarios(simScenarioSetup());
