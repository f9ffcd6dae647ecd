import {
  AbortError,
  type Account,
  type Adjudicator,
  type AdjudicatorEvent,
  type CallOptions,
  type ChannelId,
  channelIdEquals,
  indexOfAddress,
  type Logger,
  type RegisteredEvent,
  type SignedState,
  silentLogger,
  sleep,
  type Transaction,
  ValidationError,
  type Watcher,
  type WatchHandle,
} from "@perun-ts/core";
import {
  AlreadyWatchingError,
  NotWatchingError,
  SubChannelsPresentError,
  WatcherClosedError,
} from "./errors.js";
import { EventRelay } from "./event-relay.js";
import {
  channelKey,
  collectDescendants,
  locks,
  type WatchedChannel,
  type WatchedTree,
} from "./watched-channel.js";

/** Options of {@link LocalWatcher}. */
export interface LocalWatcherOptions {
  /** Where registrations are observed and refutations are sent. */
  readonly adjudicator: Adjudicator;
  /**
   * The account named in refutation requests (`AdjudicatorReq.account`); usually the client's own
   * participant account. Its participant index in the root channel is sent as `idx` (0 if it is not
   * a participant: registering does not depend on who sends it).
   */
  readonly account: Account;
  readonly logger?: Logger;
  /** Events buffered per channel for a slow consumer before the oldest is dropped (default 64). */
  readonly eventBufferSize?: number;
  /** First pause before retrying a failed refutation, doubled up to `maxRetryDelayMs` (default 500). */
  readonly retryDelayMs?: number;
  /** Longest pause between refutation attempts (default 10 000). */
  readonly maxRetryDelayMs?: number;
}

/** What {@link LocalWatcher} returns per watched channel. */
export interface LocalWatchHandle extends WatchHandle {
  readonly channelId: ChannelId;
  /** Events discarded because the consumer of `events` fell more than the buffer size behind. */
  readonly droppedEvents: number;
}

function describeEvent(e: AdjudicatorEvent): Readonly<Record<string, unknown>> {
  return { event: e.type, channel: channelKey(e.id), version: e.version };
}

function checkSignedState(s: SignedState): void {
  if (!channelIdEquals(s.state.id, s.params.id))
    throw new ValidationError("state id does not match the params");
  if (s.sigs.length !== s.params.parts.length || s.sigs.some((sig) => !(sig instanceof Uint8Array))) {
    throw new ValidationError(`expected ${s.params.parts.length} signatures, got ${s.sigs.length}`);
  }
}

/**
 * The local dispute watchtower (spec §7.2, without go-perun's one-level limit).
 *
 * For every watched channel tree it keeps the latest state the client published for each channel,
 * subscribes to the adjudicator events of every channel of the tree, relays them to the client, and
 * answers a registration of an older version than the latest known state of that channel (a stale
 * root or a stale sub-state registered with its tree) by registering the whole tree with the newest
 * states: root first, then every descendant in DFS pre-order, at any depth. A failed refutation is
 * retried while the refutation window is open and a newer registration has not made it moot.
 *
 * @example
 * ```ts
 * const watcher = new LocalWatcher({ adjudicator: ledger, account });
 * const handle = await watcher.startWatchingLedgerChannel(signedState);
 * await handle.publish(nextTx); // after every enabled update
 * for await (const event of handle.events) console.log(event.type, event.version);
 * await watcher.stopWatching(params.id); // children first
 * ```
 */
export class LocalWatcher implements Watcher {
  readonly #adjudicator: Adjudicator;
  readonly #account: Account;
  readonly #logger: Logger;
  readonly #bufferSize: number;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  /** Channels the client watches (not archived ones). */
  readonly #live = new Map<string, WatchedChannel>();
  /** Channels whose start is in progress (duplicate starts are refused meanwhile). */
  readonly #starting = new Set<string>();
  readonly #trees = new Set<WatchedTree>();
  #closed = false;

  constructor(opts: LocalWatcherOptions) {
    this.#adjudicator = opts.adjudicator;
    this.#account = opts.account;
    this.#logger = opts.logger ?? silentLogger;
    this.#bufferSize = opts.eventBufferSize ?? 64;
    this.#retryDelayMs = opts.retryDelayMs ?? 500;
    this.#maxRetryDelayMs = opts.maxRetryDelayMs ?? 10_000;
    if (!Number.isInteger(this.#bufferSize) || this.#bufferSize < 1) {
      throw new RangeError("eventBufferSize must be a positive integer");
    }
    if (!(this.#retryDelayMs >= 0) || !(this.#maxRetryDelayMs >= this.#retryDelayMs)) {
      throw new RangeError("retry delays must satisfy 0 <= retryDelayMs <= maxRetryDelayMs");
    }
  }

  /**
   * Starts watching a ledger channel (the root of a tree) from its current fully signed state.
   * Throws `AlreadyWatchingError`, `ValidationError` (malformed state), `WatcherClosedError`,
   * `AbortError`, or what `Adjudicator.subscribe` throws.
   */
  startWatchingLedgerChannel(state: SignedState, opts: CallOptions = {}): Promise<LocalWatchHandle> {
    return this.#start(undefined, state, opts);
  }

  /**
   * Starts watching a sub-channel or virtual channel whose parent (a ledger channel or another
   * sub-channel) is watched. Throws `NotWatchingError` (role "parent") if the parent is not watched,
   * and everything `startWatchingLedgerChannel` throws.
   */
  startWatchingSubChannel(
    parent: ChannelId,
    state: SignedState,
    opts: CallOptions = {},
  ): Promise<LocalWatchHandle> {
    return this.#start(parent, state, opts);
  }

  async #start(
    parentId: ChannelId | undefined,
    signed: SignedState,
    opts: CallOptions,
  ): Promise<LocalWatchHandle> {
    if (this.#closed) throw new WatcherClosedError();
    checkSignedState(signed);
    if (signed.params.ledgerChannel !== (parentId === undefined)) {
      throw new ValidationError(
        parentId === undefined
          ? "only a ledger channel can be the root of a watched tree"
          : "a ledger channel cannot be watched as a sub-channel",
      );
    }
    const key = channelKey(signed.params.id);
    if (this.#live.has(key) || this.#starting.has(key)) throw new AlreadyWatchingError(key);
    const parentKey = parentId && channelKey(parentId);
    if (parentKey !== undefined && !this.#live.has(parentKey))
      throw new NotWatchingError(parentKey, "parent");
    if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);

    this.#starting.add(key);
    try {
      return await this.#startReserved(key, parentKey, signed, opts);
    } finally {
      this.#starting.delete(key);
    }
  }

  /** Second half of `#start`, while `key` is reserved against duplicate starts. */
  async #startReserved(
    key: string,
    parentKey: string | undefined,
    signed: SignedState,
    opts: CallOptions,
  ): Promise<LocalWatchHandle> {
    const parentOf = () => {
      if (parentKey === undefined) return undefined;
      const p = this.#live.get(parentKey);
      if (p === undefined) throw new NotWatchingError(parentKey, "parent");
      return p;
    };
    const subscription = await this.#adjudicator.subscribe(
      signed.params.id,
      opts.signal ? { signal: opts.signal } : {},
    );
    let parent: WatchedChannel | undefined;
    try {
      if (this.#closed) throw new WatcherClosedError();
      if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
      parent = parentOf(); // the parent may have been stopped meanwhile
    } catch (err) {
      subscription.close();
      throw err;
    }

    // A channel stopped earlier but kept for its parent is watched again: take over its newest state.
    let latest: SignedState = signed;
    const archived = parent?.children.get(key);
    if (archived !== undefined) {
      if (archived.latest.state.version > latest.state.version) latest = archived.latest;
      parent?.children.delete(key);
      await this.#dispose(archived);
    }

    const logger = this.#logger.child({ channel: key });
    const relay = new EventRelay<AdjudicatorEvent>(this.#bufferSize, logger, describeEvent);
    // The root is filled in right below, before anything reads it.
    const tree: WatchedTree = parent?.tree ?? {
      root: undefined as unknown as WatchedChannel,
      queue: Promise.resolve(),
      abort: new AbortController(),
    };
    const node: WatchedChannel = {
      id: signed.params.id,
      key,
      params: signed.params,
      parent,
      tree,
      children: new Map(),
      logger,
      relay,
      status: "live",
      latest,
      registeredVersion: undefined,
      chainVersion: undefined,
      concluded: false,
      subscription,
      reader: Promise.resolve(),
    };
    if (parent === undefined) {
      tree.root = node;
      this.#trees.add(tree);
    } else {
      parent.children.set(key, node);
    }
    this.#live.set(key, node);
    node.reader = this.#read(node);
    logger.debug("watching", { version: latest.state.version, parent: parentKey });

    return {
      channelId: node.id,
      events: relay,
      get droppedEvents() {
        return relay.dropped;
      },
      publish: (tx) => this.#publish(node, tx),
    };
  }

  /**
   * Stops watching a channel and ends its event stream (after the buffered events). Sub-channels must
   * be stopped before their parent (`SubChannelsPresentError`); an unknown or already stopped channel
   * throws `NotWatchingError`. A stopped sub-channel whose funds are still locked in its parent's
   * latest state stays known to the watcher (archived), so the parent's tree can still be registered.
   */
  async stopWatching(id: ChannelId, opts: CallOptions = {}): Promise<void> {
    if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
    const key = channelKey(id);
    const node = this.#live.get(key);
    if (node === undefined) throw new NotWatchingError(key);
    const liveChildren = [...node.children.values()].filter((c) => c.status === "live").map((c) => c.key);
    if (liveChildren.length > 0) throw new SubChannelsPresentError(key, liveChildren);

    this.#live.delete(key);
    node.relay.close();
    const parent = node.parent;
    if (parent === undefined) {
      await this.#stopTree(node.tree);
    } else if (locks(parent, node.id)) {
      node.status = "archived";
      node.logger.debug("stopped; kept for the parent's registrations");
    } else {
      parent.children.delete(key);
      await this.#dispose(node);
    }
  }

  /**
   * Resolves once every registration check and refutation queued so far has finished, i.e. the
   * watcher has reacted to every event it has read (useful before shutting down, and in tests).
   */
  async idle(): Promise<void> {
    for (;;) {
      const seen = new Map([...this.#trees].map((t) => [t, t.queue] as const));
      await Promise.all(seen.values());
      const unchanged = [...this.#trees].every((t) => seen.get(t) === t.queue);
      if (unchanged) return;
    }
  }

  /** Stops watching every channel, aborts refutations in flight and ends every event stream. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const node of this.#live.values()) node.relay.close();
    this.#live.clear();
    await Promise.all([...this.#trees].map((t) => this.#stopTree(t)));
  }

  async #stopTree(tree: WatchedTree): Promise<void> {
    this.#trees.delete(tree);
    tree.abort.abort(new WatcherClosedError());
    await this.#dispose(tree.root);
    await tree.queue;
  }

  /** Closes the subscriptions of `node` and its descendants and waits for their readers. */
  async #dispose(node: WatchedChannel): Promise<void> {
    const all: WatchedChannel[] = [];
    const visit = (n: WatchedChannel) => {
      all.push(n);
      for (const c of n.children.values()) visit(c);
    };
    visit(node);
    for (const n of all) {
      n.status = "disposed";
      n.relay.close();
      n.subscription.close();
    }
    await Promise.all(all.map((n) => n.reader));
  }

  async #publish(node: WatchedChannel, tx: Transaction): Promise<void> {
    if (node.status !== "live") throw new NotWatchingError(node.key);
    const state = tx.state;
    if (state === undefined) throw new ValidationError("published transaction has no state");
    if (!channelIdEquals(state.id, node.id))
      throw new ValidationError("published state belongs to another channel");
    const sigs = tx.sigs;
    if (sigs.length !== node.params.parts.length || sigs.some((s) => s === undefined)) {
      throw new ValidationError("published transaction is not signed by every participant");
    }
    if (state.version < node.latest.state.version) {
      throw new ValidationError(
        `published version ${state.version} is older than the latest published version ${node.latest.state.version}`,
      );
    }
    node.latest = { params: node.params, state, sigs: sigs as Uint8Array[] };
    // Archived children that the new state no longer locks are settled: forget them.
    const released = [...node.children.values()].filter((c) => c.status === "archived" && !locks(node, c.id));
    for (const c of released) node.children.delete(c.key);
    await Promise.all(released.map((c) => this.#dispose(c)));
  }

  async #read(node: WatchedChannel): Promise<void> {
    try {
      for await (const event of node.subscription) this.#onEvent(node, event);
      node.relay.close();
    } catch (err) {
      if (node.status === "disposed") return;
      node.logger.error("adjudicator subscription failed", { error: String(err) });
      node.relay.close(err);
    }
  }

  #onEvent(node: WatchedChannel, event: AdjudicatorEvent): void {
    if (!channelIdEquals(event.id, node.id)) {
      node.logger.error("adjudicator sent an event of another channel; ignored", describeEvent(event));
      return;
    }
    node.logger.debug("adjudicator event", describeEvent(event));
    node.chainVersion = event.version;
    if (event.type === "concluded") node.concluded = true;
    if (node.status === "live") node.relay.push(event);
    if (event.type === "registered") {
      const tree = node.tree;
      tree.queue = tree.queue.then(() => this.#checkRegistration(node, event));
    }
  }

  /** Runs in the tree's serial queue; never throws. */
  async #checkRegistration(node: WatchedChannel, event: RegisteredEvent): Promise<void> {
    if (node.tree.abort.signal.aborted || node.status === "disposed" || node.concluded) return;
    const latest = node.latest.state.version;
    if (event.version >= latest) return;
    if (node.registeredVersion !== undefined && event.version < node.registeredVersion) {
      node.logger.debug("stale registration already refuted", { version: event.version });
      return;
    }
    node.logger.info("stale registration; refuting", { registered: event.version, latest });
    try {
      await this.#refute(node, event);
    } catch (err) {
      if (!node.tree.abort.signal.aborted) {
        node.logger.error("refutation failed unexpectedly", { error: String(err) });
      }
    }
  }

  /** Still worth refuting: the chain holds an older version of `node` than its latest. */
  #stillStale(node: WatchedChannel): boolean {
    return (
      node.status !== "disposed" &&
      !node.concluded &&
      node.chainVersion !== undefined &&
      node.chainVersion < node.latest.state.version
    );
  }

  async #refute(trigger: WatchedChannel, event: RegisteredEvent): Promise<void> {
    const signal = trigger.tree.abort.signal;
    let delay = this.#retryDelayMs;
    for (let attempt = 1; ; attempt++) {
      const root = trigger.tree.root;
      const { channels, missing } = collectDescendants(root);
      if (missing.length > 0) {
        root.logger.warn("refuting without states of unwatched locked sub-channels", { missing });
      }
      const idx = indexOfAddress(root.params.parts, this.#account.address);
      // Snapshot what is sent: the client may publish newer states while the call is in flight.
      const rootState = root.latest;
      const subStates = channels.map((c) => c.latest);
      try {
        await this.#adjudicator.register(
          {
            params: root.params,
            account: this.#account,
            tx: { state: rootState.state, sigs: rootState.sigs },
            idx: Math.max(idx, 0),
            secondary: false,
          },
          subStates,
          { signal },
        );
        const sent = [rootState, ...subStates];
        [root, ...channels].forEach((c, i) => {
          const v = (sent[i] as SignedState).state.version;
          if (c.registeredVersion === undefined || v > c.registeredVersion) c.registeredVersion = v;
        });
        root.logger.info("refuted", {
          version: rootState.state.version,
          subChannels: channels.length,
          attempt,
        });
        return;
      } catch (err) {
        if (signal.aborted) return;
        trigger.logger.warn("refutation attempt failed", { attempt, error: String(err) });
      }
      if (!this.#stillStale(trigger)) return;
      let elapsed: boolean;
      try {
        elapsed = await event.timeout.isElapsed();
      } catch (err) {
        trigger.logger.error("cannot read the refutation timeout; giving up", { error: String(err) });
        return;
      }
      if (elapsed) {
        trigger.logger.error("refutation window closed before a refutation succeeded", { attempt });
        return;
      }
      try {
        await sleep(delay, { signal });
      } catch {
        return; // aborted: the tree is no longer watched
      }
      delay = Math.min(Math.max(1, delay * 2), this.#maxRetryDelayMs);
    }
  }
}
