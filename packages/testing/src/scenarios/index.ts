export {
  openVirtualChannel,
  subChannelRestart,
  type VirtualRestartRole,
  virtualChannelRestart,
} from "./child-restart.js";
export { concurrentUpdates } from "./concurrent-updates.js";
export { disputeMalloryCarol } from "./dispute.js";
export { fundingTimeoutRecovery } from "./funding-timeout.js";
export { GateBus, NetworkDownError } from "./gate-bus.js";
export { happyAliceBob } from "./happy.js";
export { hostileVirtualChannelFunding, virtualChannelHubOffline } from "./hub-scenarios.js";
export { invalidMessagesRejected } from "./invalid-messages.js";
export {
  acceptAll,
  balancesOf,
  INITIAL_LEDGER_BALANCE,
  openChannel,
  type Party,
  type PartyOptions,
  pay,
  type ScenarioContext,
  watchChannel,
  withScenario,
} from "./party.js";
export { progressionPaulPaula } from "./progression.js";
export { rejectedUpdate } from "./rejected-update.js";
export { petraRobertRestart } from "./restart.js";
export {
  memoryStores,
  openLedger,
  type RestartableParty,
  restartableParty,
  restartParty,
  type StoreFactory,
  startParty,
  stopParty,
  watchFor,
} from "./restartable-party.js";
export type { ScenarioLedger, ScenarioNetwork, ScenarioSetup } from "./setup.js";
export { type NetworkFactory, serializingLocalNetwork, simScenarioSetup, tcpNetwork } from "./sim-setup.js";
export {
  hostileSubChannelFunding,
  openSubChannel,
  subChannelDispute,
  subChannelsHappy,
} from "./sub-channels.js";
export { describeClientScenarios } from "./suite.js";
export { TapBus } from "./tap-bus.js";
export { TrivialApp } from "./trivial-app.js";
export {
  virtualChannelDispute,
  virtualChannelHubRejects,
  virtualChannelOptimistic,
} from "./virtual-channels.js";
