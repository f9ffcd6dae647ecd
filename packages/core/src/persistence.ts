import type { ChannelId } from "./channel-id.js";
import type { Address } from "./identity.js";
import type { Params } from "./params.js";
import type { Phase } from "./phase.js";
import type { Transaction } from "./transaction.js";

/** The persisted view of a channel's state machine. */
export interface ChannelSource {
  readonly id: ChannelId;
  /** Own participant index. */
  readonly idx: number;
  readonly params: Params;
  readonly phase: Phase;
  readonly current: Transaction;
  readonly staging: Transaction;
}

/** Everything needed to restore a channel. */
export interface PersistedChannel extends ChannelSource {
  /** Wire addresses of the participants, in participant order. */
  readonly peers: readonly Address[];
  /** Parent channel for sub- and virtual channels. */
  readonly parent: ChannelId | undefined;
}

/**
 * Receives every state-machine transition. Per channel, calls are serialised by the channel lock;
 * different channels may call concurrently. A call resolves only once the data is stored.
 */
export interface Persister {
  channelCreated(
    source: ChannelSource,
    peers: readonly Address[],
    parent: ChannelId | undefined,
  ): Promise<void>;
  /** Staging state with all currently known staging signatures, and the phase. */
  staged(source: ChannelSource): Promise<void>;
  sigAdded(source: ChannelSource, idx: number): Promise<void>;
  /** Current transaction, phase and the (cleared) staging transaction. */
  enabled(source: ChannelSource): Promise<void>;
  phaseChanged(source: ChannelSource): Promise<void>;
  channelRemoved(id: ChannelId): Promise<void>;
  close(): Promise<void>;
}

export interface Restorer {
  /** Every peer with at least one persisted channel. */
  activePeers(): Promise<Address[]>;
  restorePeer(peer: Address): AsyncIterable<PersistedChannel>;
  /** Throws `UnknownChannelError` if absent. */
  restoreChannel(id: ChannelId): Promise<PersistedChannel>;
}

export interface PersistRestorer extends Persister, Restorer {}
