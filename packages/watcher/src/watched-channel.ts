import {
  type AdjudicatorEvent,
  type AdjudicatorSubscription,
  type ChannelId,
  channelIdHex,
  findSubAlloc,
  type Logger,
  type Params,
  type SignedState,
} from "@perun-ts/core";
import type { EventRelay } from "./event-relay.js";

/**
 * One channel of a watched tree.
 *
 * `live` channels are watched by the client (they have an open event stream). `archived` channels
 * were stopped by the client while their parent still locked funds for them: their last state is
 * kept (and their chain events still checked) because registering the parent needs it.
 */
export interface WatchedChannel {
  readonly id: ChannelId;
  readonly key: string;
  readonly params: Params;
  readonly parent: WatchedChannel | undefined;
  readonly tree: WatchedTree;
  /** Watched (live or archived) children by key. */
  readonly children: Map<string, WatchedChannel>;
  readonly logger: Logger;
  readonly relay: EventRelay<AdjudicatorEvent>;
  status: "live" | "archived" | "disposed";
  /** Latest fully signed state published by the client (or given at start). */
  latest: SignedState;
  /** Newest version this watcher registered on chain for this channel. */
  registeredVersion: bigint | undefined;
  /** Version of the newest event seen from the adjudicator. */
  chainVersion: bigint | undefined;
  concluded: boolean;
  subscription: AdjudicatorSubscription;
  /** The task reading `subscription`; set right after creation. */
  reader: Promise<void>;
}

/** A channel tree rooted at a ledger channel; its chain events are processed one at a time. */
export interface WatchedTree {
  root: WatchedChannel;
  /** Serial task queue of the tree (registration checks and refutations). */
  queue: Promise<void>;
  /** Aborted when the root stops watching or the watcher closes. */
  readonly abort: AbortController;
}

/** The key of a channel id in maps. */
export function channelKey(id: ChannelId): string {
  return channelIdHex(id);
}

/** True if `parent`'s latest state locks funds for `child`. */
export function locks(parent: WatchedChannel, child: ChannelId): boolean {
  return findSubAlloc(parent.latest.state.allocation, child) !== undefined;
}

/**
 * The signed latest states of every descendant of `root` reachable through the `locked` entries of
 * the latest states, in DFS pre-order (the order `Adjudicator.register` expects), plus the ids of
 * locked children the watcher does not know (their states cannot be supplied).
 */
export function collectDescendants(root: WatchedChannel): {
  channels: WatchedChannel[];
  missing: string[];
} {
  const channels: WatchedChannel[] = [];
  const missing: string[] = [];
  const visit = (node: WatchedChannel) => {
    for (const sub of node.latest.state.allocation.locked) {
      const child = node.children.get(channelKey(sub.id));
      if (child === undefined || child.status === "disposed") {
        missing.push(channelKey(sub.id));
        continue;
      }
      channels.push(child);
      visit(child);
    }
  };
  visit(root);
  return { channels, missing };
}
