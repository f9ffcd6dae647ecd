export {
  type Command,
  commandArb,
  type Ending,
  INTERFERENCES,
  OUTAGES,
  type RunPlan,
  type RunStats,
  runAdversaryPlan,
  runPlanArb,
} from "./adversary-model.js";
export { type AdversarySide, AdversaryWorld, type HonestSide, type WorldOptions } from "./adversary-world.js";
export { ATTACKS, type AttackKind, type AttackResult, runAttack } from "./attacks.js";
export { ConsentBackend } from "./consent-backend.js";
export {
  invalidProgressions,
  neverFundingPeer,
  peerConcludesFirst,
  staleRegistrationRaces,
} from "./hostile-chain.js";
export { describeHostileChainScenarios } from "./hostile-chain-suite.js";
export { type LoadOptions, type LoadReport, runLoad } from "./load.js";
export { type ConnectionCut, ObservedBus } from "./observed-bus.js";
export { RejectionMonitor } from "./rejection-monitor.js";
