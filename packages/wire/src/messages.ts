import type {
  Address,
  Allocation,
  App,
  Balances,
  ChannelId,
  Phase,
  Signature,
  SignedState,
  State,
  Transaction,
} from "@perun-ts/core";

/**
 * Numeric ids of the protocol messages (spec §5.1). They are the type tag on the wire; ids from
 * {@link FIRST_APPLICATION_MESSAGE_TYPE} up belong to application messages (see `MessageRegistry`).
 */
export enum MessageType {
  Ping = 0,
  Pong = 1,
  Shutdown = 2,
  AuthResponse = 3,
  LedgerChannelProposal = 4,
  LedgerChannelProposalAcc = 5,
  SubChannelProposal = 6,
  SubChannelProposalAcc = 7,
  VirtualChannelProposal = 8,
  VirtualChannelProposalAcc = 9,
  ChannelProposalRej = 10,
  ChannelUpdate = 11,
  VirtualChannelFundingProposal = 12,
  VirtualChannelSettlementProposal = 13,
  ChannelUpdateAcc = 14,
  ChannelUpdateRej = 15,
  ChannelSync = 16,
}

/** The first type id applications may register; 0..16 are the protocol's own. */
export const FIRST_APPLICATION_MESSAGE_TYPE = 17;
/** The largest registrable type id. */
export const MAX_MESSAGE_TYPE = 0xffff;

/** Liveness probe; `created` is a unix timestamp in nanoseconds (int64). */
export interface PingMessage {
  readonly type: MessageType.Ping;
  readonly created: bigint;
}

/** Answer to a ping; `created` is a unix timestamp in nanoseconds (int64). */
export interface PongMessage {
  readonly type: MessageType.Pong;
  readonly created: bigint;
}

/** The sender is closing the connection; `reason` says why. */
export interface ShutdownMessage {
  readonly type: MessageType.Shutdown;
  readonly reason: string;
}

/**
 * One step of the NetBus handshake. `challenge` is a fresh random nonce (empty when the step carries
 * none); `signature` signs the handshake transcript (empty when the step carries none).
 */
export interface AuthResponseMessage {
  readonly type: MessageType.AuthResponse;
  readonly challenge: Uint8Array;
  readonly signature: Uint8Array;
}

/** Fields common to every channel proposal (spec §5.2 "BaseChannelProposal"). */
export interface BaseChannelProposal {
  /** 32 random bytes naming the proposal. */
  readonly proposalId: Uint8Array;
  /** Dispute period in seconds (uint64, non-zero). */
  readonly challengeDuration: bigint;
  /** The proposer's 32-byte share of the channel nonce. */
  readonly nonceShare: Uint8Array;
  /** The channel's app (`noApp` for plain payment ledger channels). */
  readonly app: App;
  /** Initial app data (empty for `noApp`). */
  readonly initData: Uint8Array;
  /** The initial allocation. */
  readonly initBals: Allocation;
  /** Who funds how much of each asset: `fundingAgreement[asset][participant]`. */
  readonly fundingAgreement: Balances;
}

/** Proposal of a ledger channel (funded on chain). */
export interface LedgerChannelProposalMessage extends BaseChannelProposal {
  readonly type: MessageType.LedgerChannelProposal;
  /** The proposer's channel (signing) address. */
  readonly participant: Address;
  /** Wire addresses of all participants, proposer first; 2..1024 entries. */
  readonly peers: readonly Address[];
}

/** Acceptance of a ledger channel proposal. */
export interface LedgerChannelProposalAccMessage {
  readonly type: MessageType.LedgerChannelProposalAcc;
  readonly proposalId: Uint8Array;
  readonly nonceShare: Uint8Array;
  /** The responder's channel (signing) address. */
  readonly participant: Address;
}

/** Proposal of a sub-channel funded from `parent`. */
export interface SubChannelProposalMessage extends BaseChannelProposal {
  readonly type: MessageType.SubChannelProposal;
  readonly parent: ChannelId;
}

/** Acceptance of a sub-channel proposal. */
export interface SubChannelProposalAccMessage {
  readonly type: MessageType.SubChannelProposalAcc;
  readonly proposalId: Uint8Array;
  readonly nonceShare: Uint8Array;
}

/** Proposal of a virtual channel through an intermediary, funded from the `parents` ledger channels. */
export interface VirtualChannelProposalMessage extends BaseChannelProposal {
  readonly type: MessageType.VirtualChannelProposal;
  /** The proposer's channel (signing) address. */
  readonly proposer: Address;
  /** Wire addresses of all participants, proposer first; 2..1024 entries. */
  readonly peers: readonly Address[];
  /** One parent channel id per participant. */
  readonly parents: readonly ChannelId[];
  /** Per parent: virtual-channel participant index → parent participant index. */
  readonly indexMaps: readonly (readonly number[])[];
}

/** Acceptance of a virtual channel proposal. */
export interface VirtualChannelProposalAccMessage {
  readonly type: MessageType.VirtualChannelProposalAcc;
  readonly proposalId: Uint8Array;
  readonly nonceShare: Uint8Array;
  /** The responder's channel (signing) address. */
  readonly responder: Address;
}

/** Rejection of any channel proposal. */
export interface ChannelProposalRejMessage {
  readonly type: MessageType.ChannelProposalRej;
  readonly proposalId: Uint8Array;
  readonly reason: string;
}

/** Fields of a channel update: the proposed state, who acts, and the actor's signature on it. */
export interface ChannelUpdateFields {
  readonly state: State;
  /** Index of the acting participant. */
  readonly actorIdx: number;
  /** The actor's signature on `state` (the backend's fixed signature length). */
  readonly sig: Signature;
}

/** An off-chain update proposal. */
export interface ChannelUpdateMessage extends ChannelUpdateFields {
  readonly type: MessageType.ChannelUpdate;
}

/** A ledger-channel update that funds a virtual channel, sent to the intermediary. */
export interface VirtualChannelFundingProposalMessage extends ChannelUpdateFields {
  readonly type: MessageType.VirtualChannelFundingProposal;
  /** The virtual channel's fully signed initial state. */
  readonly initial: SignedState;
  /** Virtual-channel participant index → ledger-channel participant index. */
  readonly indexMap: readonly number[];
}

/** A ledger-channel update that settles a virtual channel, sent to the intermediary. */
export interface VirtualChannelSettlementProposalMessage extends ChannelUpdateFields {
  readonly type: MessageType.VirtualChannelSettlementProposal;
  /** The virtual channel's fully signed final state. */
  readonly final: SignedState;
}

/** Acceptance of update `version` of channel `channelId`, with the acceptor's signature. */
export interface ChannelUpdateAccMessage {
  readonly type: MessageType.ChannelUpdateAcc;
  readonly channelId: ChannelId;
  readonly version: bigint;
  readonly sig: Signature;
}

/** Rejection of update `version` of channel `channelId`. */
export interface ChannelUpdateRejMessage {
  readonly type: MessageType.ChannelUpdateRej;
  readonly channelId: ChannelId;
  readonly version: bigint;
  readonly reason: string;
}

/** A channel's phase and current transaction, exchanged to resynchronise after a reconnect. */
export interface ChannelSyncMessage {
  readonly type: MessageType.ChannelSync;
  readonly phase: Phase;
  readonly currentTx: Transaction;
  /**
   * False for a request (the receiver answers it), true for the answer to one (never answered).
   * Without the flag the roles would have to be guessed from timing.
   */
  readonly reply: boolean;
}

/**
 * A message of a type an application registered (type id ≥ {@link FIRST_APPLICATION_MESSAGE_TYPE});
 * `payload` is whatever the registered codec produces.
 */
export interface ApplicationMessage<P = unknown> {
  readonly type: "application";
  /** The registered wire type id. */
  readonly appType: number;
  readonly payload: P;
}

/** Every protocol message of spec §5.1. */
export type ProtocolMessage =
  | PingMessage
  | PongMessage
  | ShutdownMessage
  | AuthResponseMessage
  | LedgerChannelProposalMessage
  | LedgerChannelProposalAccMessage
  | SubChannelProposalMessage
  | SubChannelProposalAccMessage
  | VirtualChannelProposalMessage
  | VirtualChannelProposalAccMessage
  | ChannelProposalRejMessage
  | ChannelUpdateMessage
  | VirtualChannelFundingProposalMessage
  | VirtualChannelSettlementProposalMessage
  | ChannelUpdateAccMessage
  | ChannelUpdateRejMessage
  | ChannelSyncMessage;

/** Anything that travels in an envelope. */
export type Message = ProtocolMessage | ApplicationMessage;

/** Messages about one channel; `channelIdOf` returns their channel. */
export type ChannelMessage =
  | ChannelUpdateMessage
  | VirtualChannelFundingProposalMessage
  | VirtualChannelSettlementProposalMessage
  | ChannelUpdateAccMessage
  | ChannelUpdateRejMessage
  | ChannelSyncMessage;

/** Proposal messages (handled by a client's request loop). */
export type ChannelProposalMessage =
  | LedgerChannelProposalMessage
  | SubChannelProposalMessage
  | VirtualChannelProposalMessage;

/** Answers to a proposal. */
export type ChannelProposalResponseMessage =
  | LedgerChannelProposalAccMessage
  | SubChannelProposalAccMessage
  | VirtualChannelProposalAccMessage
  | ChannelProposalRejMessage;

/** The channel a channel message is about, or `undefined` for other messages (and a sync without state). */
export function channelIdOf(m: Message): ChannelId | undefined {
  switch (m.type) {
    case MessageType.ChannelUpdate:
    case MessageType.VirtualChannelFundingProposal:
    case MessageType.VirtualChannelSettlementProposal:
      return m.state.id;
    case MessageType.ChannelUpdateAcc:
    case MessageType.ChannelUpdateRej:
      return m.channelId;
    case MessageType.ChannelSync:
      return m.currentTx.state?.id;
    default:
      return undefined;
  }
}

/** The proposal id of a proposal or proposal response, or `undefined` for other messages. */
export function proposalIdOf(m: Message): Uint8Array | undefined {
  switch (m.type) {
    case MessageType.LedgerChannelProposal:
    case MessageType.LedgerChannelProposalAcc:
    case MessageType.SubChannelProposal:
    case MessageType.SubChannelProposalAcc:
    case MessageType.VirtualChannelProposal:
    case MessageType.VirtualChannelProposalAcc:
    case MessageType.ChannelProposalRej:
      return m.proposalId;
    default:
      return undefined;
  }
}

/** A human-readable name of the message's type, for logs. */
export function messageTypeName(m: Message): string {
  return m.type === "application" ? `Application(${m.appType})` : MessageType[m.type];
}
