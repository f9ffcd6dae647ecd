import { simScenarioSetup, tcpNetwork } from "../scenarios/sim-setup.js";
import { describeHostileChainScenarios } from "./hostile-chain-suite.js";

describeHostileChainScenarios(simScenarioSetup());
describeHostileChainScenarios(simScenarioSetup({ name: "sim over NetBus (TCP)", network: tcpNetwork }));
