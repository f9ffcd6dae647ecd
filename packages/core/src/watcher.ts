import type { ChannelId } from "./channel-id.js";
import type { AdjudicatorEvent, CallOptions } from "./ledger.js";
import type { SignedState, Transaction } from "./transaction.js";

/** What the watcher hands back for a watched channel. */
export interface WatchHandle {
  /** Tell the watcher about a newly enabled state (the client publishes every one). */
  publish(tx: Transaction): Promise<void>;
  /** Adjudicator events of the channel, relayed to the client; ends on `stopWatching`. */
  readonly events: AsyncIterable<AdjudicatorEvent>;
}

/** A dispute watchtower: refutes stale registrations with the newest states of the whole tree. */
export interface Watcher {
  startWatchingLedgerChannel(state: SignedState, opts?: CallOptions): Promise<WatchHandle>;
  startWatchingSubChannel(parent: ChannelId, state: SignedState, opts?: CallOptions): Promise<WatchHandle>;
  /** Children must be stopped before their parent. */
  stopWatching(id: ChannelId, opts?: CallOptions): Promise<void>;
}
