export {
  type AdjudicatorEventHandler,
  Channel,
  type ChannelUpdate,
  CONFLICT_REASON,
  type SettleOptions,
  type UpdateHandler,
  type UpdateListener,
  type UpdateResponder,
  type Updater,
} from "./channel.js";
export type { ChildChannelProposal } from "./child-channels.js";
export {
  type SubChannelProposalInit,
  subChannelProposal,
  type VirtualChannelProposalInit,
  virtualChannelProposal,
} from "./child-proposal.js";
export {
  Client,
  type ClientOptions,
  type Handlers,
  type ProposalHandler,
  type ProposalResponder,
} from "./client.js";
export {
  ChannelNotFundedError,
  ClosedError,
  ResponderUsedError,
  SyncConflictError,
  SyncError,
  UpdateConflictError,
} from "./errors.js";
export type { VirtualChannelPolicy, VirtualChannelRequest, VirtualChannelVerdict } from "./hub.js";
export { channelNonce, NONCE_SHARE_LENGTH, randomNonceShare } from "./nonce.js";
export {
  checkLedgerChannelAcc,
  checkLedgerChannelProposal,
  type LedgerChannelProposalInit,
  ledgerChannelProposal,
  PROPOSAL_ID_LENGTH,
} from "./proposal.js";
export {
  isRestorer,
  parentsFirst,
  type RestoredChannel,
  type RestoreOptions,
  type RestoreReport,
} from "./restore.js";
export { ownSyncMessage, type SyncOutcome } from "./sync.js";
