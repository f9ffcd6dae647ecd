import {
  AbortError,
  type Address,
  type Adjudicator,
  type AdjudicatorEvent,
  type AdjudicatorReq,
  abortable,
  type CallOptions,
  type ChannelBackend,
  type ChannelId,
  channelIdHex,
  checkGenericTransition,
  checkTwoPartyUpdate,
  cloneState,
  Deferred,
  type Logger,
  Mutex,
  type Params,
  PeerRejectedError,
  Phase,
  phaseName,
  type Release,
  RequestTimedOutError,
  type Signature,
  type SignedState,
  type State,
  StateTransitionError,
  stateEquals,
  type Transaction,
  TwoPartyRule,
  ValidationError,
  type Wallet,
  type Watcher,
  type WatchHandle,
  withTimeout,
} from "@perun-ts/core";
import { type Bus, type Message, MessageType } from "@perun-ts/wire";
import type { ChildLink, InterceptDecision, UpdateInterceptor, UpdateRequest } from "./child-link.js";
import { ClosedError, ResponderUsedError, UpdateConflictError } from "./errors.js";
import type { PersistingMachine } from "./persisting-machine.js";
import type { ResponseRouter, UpdateResponse } from "./response-router.js";
import type { TaskSupervisor } from "./supervisor.js";

/** The reason a participant sends when it rejects a peer's update because its own concurrent update wins. */
export const CONFLICT_REASON = "concurrent update: the participant with the lower index has priority";

/** An update proposed by the peer, as handed to the `onUpdate` handler. */
export interface ChannelUpdate {
  /** The proposed next state (version = current + 1). */
  readonly state: State;
  /** Participant index of the proposer (always the peer in two-party channels). */
  readonly actorIdx: number;
}

/**
 * Answers one incoming update. Exactly one of `accept`/`reject` may be called, once; a second call
 * rejects with `ResponderUsedError`. The channel stays locked until the responder is used (or the
 * client's decision timeout passes, which rejects the update).
 */
export interface UpdateResponder {
  /** Signs the update, sends the acceptance and makes the state current. */
  accept(opts?: CallOptions): Promise<void>;
  /** Sends a rejection with `reason`; the channel state does not change. */
  reject(reason: string, opts?: CallOptions): Promise<void>;
}

/**
 * Decides on an update proposed by the peer. Called with the channel's current state, the update
 * and a responder that must be used exactly once.
 */
export type UpdateHandler = (
  channel: Channel,
  current: State,
  update: ChannelUpdate,
  responder: UpdateResponder,
) => void | Promise<void>;

/** Receives the on-chain events of a watched channel (registered, progressed, concluded). */
export type AdjudicatorEventHandler = (event: AdjudicatorEvent) => void | Promise<void>;

/** Called after every enabled update with the previous and the new current state. */
export type UpdateListener = (from: State, to: State) => void;

/** Computes the next state from a copy of the current one; the version is set by the client. */
export type Updater = (current: State) => State;

/** Options of `settle`. */
export interface SettleOptions extends CallOptions {
  /** The peer settles the same state; a backend may then wait for the peer's transaction (gas saving). */
  readonly secondary?: boolean;
}

/** What a channel needs from its client; not part of the public API. */
export interface ChannelEnv {
  readonly backend: ChannelBackend;
  readonly adjudicator: Adjudicator;
  readonly watcher: Watcher;
  readonly wallet: Wallet;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly ownWire: Address;
  readonly router: ResponseRouter;
  readonly supervisor: TaskSupervisor;
  /** Aborted when the client closes. */
  readonly closeSignal: AbortSignal;
  readonly updateHandler: () => UpdateHandler | undefined;
  /** How long an update handler may take to use its responder. */
  readonly decisionTimeoutMs: number;
  /** Called once the channel is settled or closed, to remove it from the client. */
  readonly onClosed: (channel: Channel) => void;
  /** Client-wide interceptor consulted after the channel's own (the hub's virtual-channel logic). */
  readonly interceptUpdate?: UpdateInterceptor;
  /** Called when an update of ours got no answer in time (the client then syncs the channel). */
  readonly onUpdateTimedOut?: (channel: Channel) => void;
}

/** @internal Locked access to a channel's machine for the client's sync and restore logic. */
export interface ChannelAccess {
  readonly machine: PersistingMachine;
  /** Runs the hooks of an enabled state (listeners, watcher) after the machine enabled one. */
  afterEnable(from: State): Promise<void>;
  /** True while the staged state is an own update that was sent but not answered yet. */
  hasPending(): boolean;
}

interface LocalUpdate {
  readonly version: bigint;
  readonly conflict: AbortController;
}

/**
 * An own update that was sent but whose wait ended without an answer (aborted, or an unusable
 * answer). The peer may have enabled it, so no other state of its version is signed until the
 * peer's answer (still awaited) or a sync decides it.
 */
interface PendingUpdate {
  readonly state: State;
  readonly stop: AbortController;
}

function errorReason(e: unknown): string {
  if (e instanceof StateTransitionError) return e.reason;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** `{ signal }` without an explicit `undefined` (exactOptionalPropertyTypes). */
export function sigOpt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

function combine(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  // One signal needs no combining: skip AbortSignal.any's allocation and listeners per update.
  return present.length === 1 ? (present[0] as AbortSignal) : AbortSignal.any(present);
}

/**
 * A two-party ledger channel (or app channel) held by a `Client`: off-chain updates, cooperative
 * settlement, disputes. Obtained from `Client.proposeChannel`, a proposal responder's `accept`,
 * `Client.onNewChannel` or `Client.channel(id)`.
 *
 * Every operation that waits takes an `AbortSignal`; operations on one channel are serialised by
 * an abortable lock.
 */
export class Channel {
  readonly #env: ChannelEnv;
  readonly #m: PersistingMachine;
  readonly #peers: readonly Address[];
  readonly #mutex = new Mutex();
  /** The id as hex, computed once (map keys, router, logs; the client's map shares the string). */
  readonly #idHex: string;
  // Created on first use: most channels are idle, and 10,000 of them must fit in ≤ 50 MB of heap.
  #logger: Logger | undefined;
  #listeners: Set<UpdateListener> | undefined;
  /** Aborted on close; created only when something waits on it (`#closed` is the flag). */
  #closeCtrl: AbortController | undefined;
  readonly #link: ChildLink | undefined;
  #children: Map<string, Channel> | undefined;
  /** The open channels that lock this one's funds (two for the hub's copy of a virtual channel). */
  #holders: Set<Channel> | undefined;
  #interceptors: Set<UpdateInterceptor> | undefined;
  #registered: SignedState | undefined;
  #local: LocalUpdate | undefined;
  #pending: PendingUpdate | undefined;
  #watch: { handle: WatchHandle; loop: Promise<void> } | undefined;
  #closed = false;

  /** @internal Created by the client; `link` for channels funded from a parent channel. */
  constructor(env: ChannelEnv, machine: PersistingMachine, peers: readonly Address[], link?: ChildLink) {
    this.#env = env;
    this.#m = machine;
    this.#peers = Object.freeze([...peers]);
    this.#idHex = channelIdHex(machine.machine.id);
    this.#link = link;
    if (link) link.parent.adoptChild(this);
  }

  get #log(): Logger {
    this.#logger ??= this.#env.logger.child({ channel: this.#idHex });
    return this.#logger;
  }

  /** The close signal, created on first use (already aborted if the channel is closed). */
  get #closeSignal(): AbortSignal {
    let ctrl = this.#closeCtrl;
    if (!ctrl) {
      ctrl = new AbortController();
      if (this.#closed) ctrl.abort(new ClosedError("channel"));
      this.#closeCtrl = ctrl;
    }
    return ctrl.signal;
  }

  /** The channel this one is funded from (sub-channels and virtual channels), if any. */
  get parent(): Channel | undefined {
    return this.#link?.parent;
  }

  /** Funded on chain (no parent). */
  get isLedgerChannel(): boolean {
    return this.#link === undefined;
  }

  /** Funded from a parent channel of the same participants. */
  get isSubChannel(): boolean {
    return this.#link?.kind === "sub";
  }

  /** A channel between two parties funded through an intermediary (also the hub's copy). */
  get isVirtualChannel(): boolean {
    return this.#link?.kind === "virtual" || this.#link?.kind === "hub-copy";
  }

  /** The channels currently funded from this one (sub-channels, virtual channels). */
  get children(): readonly Channel[] {
    return this.#children ? [...this.#children.values()] : [];
  }

  /** The newest state of this channel seen registered on chain, if it is newer than `current`. */
  get registeredState(): SignedState | undefined {
    return this.#registered;
  }

  /** @internal Aborted when the channel is closed. */
  get closeSignal(): AbortSignal {
    return this.#closeSignal;
  }

  /**
   * @internal Makes a fully signed state current without the update rules (the hub's copy of a
   * virtual channel importing A's and B's final state; the signatures are verified here).
   */
  async importState(signed: SignedState, opts: CallOptions = {}): Promise<void> {
    const release = await this.#lock(opts.signal);
    try {
      const from = this.#m.current.state as State;
      await this.#m.forceUpdate(signed.state);
      try {
        for (const [i, sig] of signed.sigs.entries()) await this.#m.addSig(i, sig);
        await this.#m.enable();
      } catch (e) {
        if (this.#inPhase(Phase.Signing)) await this.#m.discardUpdate();
        throw e;
      }
      await this.#enabled(from);
    } finally {
      release();
    }
  }

  /** @internal Consults `interceptor` for every update request; returns a function removing it. */
  addInterceptor(interceptor: UpdateInterceptor): () => void {
    this.#interceptors ??= new Set();
    this.#interceptors.add(interceptor);
    return () => this.#interceptors?.delete(interceptor) ?? false;
  }

  /**
   * @internal Remembers a state registered on chain that is newer than the own current one (the
   * hub's copy of a virtual channel learns A's and B's updates this way), so that the channel
   * tree is registered and concluded with it.
   */
  noteRegistered(signed: SignedState): void {
    const best = this.#registered?.state ?? this.#m.current.state;
    const v = signed.state.version;
    // An equal version that differs is recorded too: the chain holds it, so it is concluded with it
    // (the peer enabled an update of ours whose answer we never got, and we signed another one).
    if (!best || v > best.version || (v === best.version && !stateEquals(signed.state, best))) {
      this.#registered = signed;
    }
  }

  /**
   * @internal The state the channel is concluded with: the current one, or a registered one that
   * is newer or differs at the same version.
   */
  bestSignedState(): SignedState {
    const own = this.#signedState();
    const reg = this.#registered;
    if (!reg) return own;
    const v = reg.state.version;
    const ownV = own.state.version;
    return v > ownV || (v === ownV && !stateEquals(reg.state, own.state)) ? reg : own;
  }

  /**
   * The transaction to conclude with after a dispute: the best signed state if every participant's
   * signature on it verifies (a registered state the chain reported), else the current one.
   */
  async #concludeTx(): Promise<Transaction> {
    const best = this.bestSignedState();
    if (best === this.#registered) {
      try {
        const ok = await Promise.all(
          this.params.parts.map((p, i) => {
            const sig = best.sigs[i];
            return sig ? this.#env.backend.verify(p, best.state, sig) : Promise.resolve(false);
          }),
        );
        if (ok.every(Boolean)) return { state: best.state, sigs: [...best.sigs] };
      } catch (e) {
        this.#log.warn("registered state has a malformed signature", { error: errorReason(e) });
      }
      this.#log.warn("registered state is not signed by all participants; concluding with the own state", {
        version: best.state.version,
      });
    }
    return this.#m.current;
  }

  /** The channel id. */
  get id(): ChannelId {
    return this.#m.machine.id;
  }

  /** The channel id as `0x…` hex. */
  get idHex(): string {
    return this.#idHex;
  }

  /** Own participant index. */
  get idx(): number {
    return this.#m.idx;
  }

  /** The peer's participant index. */
  get peerIdx(): number {
    return this.#m.idx ^ 1;
  }

  get params(): Params {
    return this.#m.machine.params;
  }

  /** Wire addresses of the participants, in participant order. */
  get peers(): readonly Address[] {
    return this.#peers;
  }

  get phase(): Phase {
    return this.#m.phase;
  }

  /** The latest fully signed (or on-chain progressed) state. */
  get state(): State {
    return cloneState(this.#m.current.state as State);
  }

  /** The latest fully signed transaction (state and signatures). */
  get current(): Transaction {
    return this.#m.current;
  }

  /** True for channels with an app (not `noApp`). */
  get hasApp(): boolean {
    return this.params.app.def !== null;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * @internal Runs `fn` holding the channel lock, with the machine. The lock is requested before
   * this returns (arrival order), like an incoming update request.
   */
  async runLocked<T>(fn: (access: ChannelAccess) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.#lock(signal);
    try {
      return await fn({
        machine: this.#m,
        afterEnable: (from) => this.#enabled(from),
        hasPending: () => this.#pending !== undefined && this.#isPending(this.#pending),
      });
    } finally {
      release();
    }
  }

  /** Calls `listener(from, to)` after every enabled update; returns a function that removes it. */
  onUpdate(listener: UpdateListener): () => void {
    this.#listeners ??= new Set();
    this.#listeners.add(listener);
    return () => this.#listeners?.delete(listener) ?? false;
  }

  // ------------------------------------------------------------------------------------ updates

  /**
   * Proposes the next state `updater(copy of current)` (version set to current + 1) to the peer and
   * waits for the answer. Persists the staged state and own signature before sending it.
   *
   * @throws StateTransitionError if the new state breaks a rule (nothing is sent);
   *   PeerRejectedError if the peer rejects (with its reason); UpdateConflictError if a concurrent
   *   update of the peer took priority; RequestTimedOutError if `signal` aborts while waiting for
   *   the peer; ClosedError once the channel is closed.
   */
  async update(updater: Updater, opts: CallOptions = {}): Promise<void> {
    await this.proposeUpdate(updater, opts);
  }

  /**
   * @internal `update` for the client's own protocols: with `lockedMayChange` the update may lock
   * or release funds of a child channel, and `wrap` turns the update fields into the message sent
   * (e.g. a virtual-channel funding proposal to the hub).
   */
  async proposeUpdate(
    updater: Updater,
    opts: CallOptions,
    internal: {
      readonly lockedMayChange?: boolean;
      readonly wrap?: (fields: { state: State; actorIdx: number; sig: Signature }) => Message;
    } = {},
  ): Promise<void> {
    const release = await this.#lock(opts.signal);
    try {
      const from = this.#m.current.state as State;
      if (this.#m.phase === Phase.Signing && this.#pending) {
        this.#env.onUpdateTimedOut?.(this); // a sync decides the pending update
        throw new StateTransitionError(
          this.idHex,
          `update ${this.#pending.state.version} was sent and is not answered yet; sync the channel first`,
        );
      }
      if (this.#m.phase !== Phase.Acting) {
        throw new StateTransitionError(
          this.idHex,
          `channel is in phase ${phaseName(this.#m.phase)}, not Acting`,
        );
      }
      const next: State = { ...updater(cloneState(from)), id: from.id, version: from.version + 1n };
      if (!internal.lockedMayChange) checkTwoPartyUpdate(from, next, this.idx, this.idx);
      const local: LocalUpdate = { version: next.version, conflict: new AbortController() };
      this.#local = local;
      this.#clearPending();
      const response = this.#env.router.expect(this.idHex, next.version);
      let message: Message | undefined;
      // The peer's answer decided the update (or it never left): the staged state may be dropped.
      let decided = true;
      let sent = false;
      let keep = false;
      try {
        await this.#m.update(next, this.idx);
        const sig = await this.#m.sig();
        const wait = combine(opts.signal, this.#closeSignal, local.conflict.signal);
        const fields = { state: next, actorIdx: this.idx, sig };
        message = internal.wrap ? internal.wrap(fields) : { type: MessageType.ChannelUpdate, ...fields };
        if (wait.aborted) throw new AbortError(wait.reason);
        decided = false;
        sent = true;
        await this.#send(message, wait);
        const answer = await response.wait(wait);
        if (answer.type === MessageType.ChannelUpdateRej) {
          decided = true;
          if (answer.reason === CONFLICT_REASON && this.idx > this.peerIdx) {
            throw new UpdateConflictError(this.idHex, next.version);
          }
          throw new PeerRejectedError("channel update", answer.reason);
        }
        await this.#m.addSig(this.peerIdx, answer.sig);
        await this.#m.enable();
      } catch (e) {
        const err = this.#waitError(e, opts.signal, local, next.version);
        // The peer's own update of this version took priority: it rejects ours (lower index wins).
        if (local.conflict.signal.aborted) decided = true;
        const internalUpdate = internal.wrap !== undefined || internal.lockedMayChange === true;
        if (this.#inPhase(Phase.Signing) && !this.#closed) {
          // (When closed, the staged update stays as stored: restore syncs it.)
          if (decided || internalUpdate || message === undefined) {
            await this.#m.discardUpdate();
          } else {
            // Sent, but not answered: the peer may enable it. Keep it staged until decided.
            keep = true;
            this.#keepPending(next, response);
          }
        }
        // The answer may have been lost after the peer enabled the state: a sync repairs that.
        if (keep || (sent && err instanceof RequestTimedOutError)) this.#env.onUpdateTimedOut?.(this);
        throw err;
      } finally {
        if (!keep) response.cancel();
        if (this.#local === local) this.#local = undefined;
      }
      await this.#enabled(from);
    } finally {
      release();
    }
  }

  /** Maps an error while waiting for the peer to the error the caller should see. */
  #waitError(e: unknown, signal: AbortSignal | undefined, local: LocalUpdate, version: bigint): unknown {
    if (local.conflict.signal.aborted) return new UpdateConflictError(this.idHex, version);
    if (this.#closed) return new ClosedError("channel");
    if (signal?.aborted && e instanceof AbortError) {
      return new RequestTimedOutError(`no answer to update ${version} of channel ${this.idHex}`, {
        cause: e,
      });
    }
    return e;
  }

  /**
   * Keeps `state` (staged, sent, unanswered) pending and waits in the background for the peer's
   * answer: an acceptance enables it, a rejection drops it. A sync may decide it first.
   */
  #keepPending(
    state: State,
    response: { wait(signal?: AbortSignal): Promise<UpdateResponse>; cancel(): void },
  ): void {
    const pending: PendingUpdate = { state, stop: new AbortController() };
    this.#pending = pending;
    const stop = combine(pending.stop.signal, this.#closeSignal);
    // The first answer may have been consumed already (an unusable acceptance): wait afresh.
    response.cancel();
    this.#env.supervisor.spawn("await the answer to a pending update", async () => {
      let current = this.#env.router.expect(this.idHex, state.version);
      try {
        for (;;) {
          let answer: UpdateResponse;
          try {
            answer = await current.wait(stop);
          } catch {
            return; // decided otherwise, or closed
          }
          if (await this.#resolvePending(pending, answer)) return;
          current = this.#env.router.expect(this.idHex, state.version);
        }
      } finally {
        current.cancel();
      }
    });
  }

  /** Applies the peer's late answer to a pending update; false if the answer was unusable. */
  async #resolvePending(pending: PendingUpdate, answer: UpdateResponse): Promise<boolean> {
    let release: Release;
    try {
      release = await this.#lock(pending.stop.signal);
    } catch {
      return true;
    }
    try {
      if (!this.#isPending(pending)) return true;
      const from = this.#m.current.state as State;
      if (answer.type === MessageType.ChannelUpdateRej) {
        this.#log.info("a pending update was rejected", {
          version: pending.state.version,
          reason: answer.reason,
        });
        await this.#m.discardUpdate();
        this.#clearPending();
        return true;
      }
      try {
        await this.#m.addSig(this.peerIdx, answer.sig);
      } catch (e) {
        this.#log.warn("ignoring an unusable answer to a pending update", { error: errorReason(e) });
        return false;
      }
      await this.#m.enable();
      this.#clearPending();
      await this.#enabled(from);
      return true;
    } finally {
      release();
    }
  }

  /** True while `pending` is still the staged update of this channel. */
  #isPending(pending: PendingUpdate): boolean {
    const staged = this.#m.staging.state;
    return (
      this.#pending === pending &&
      this.#inPhase(Phase.Signing) &&
      staged !== undefined &&
      stateEquals(staged, pending.state)
    );
  }

  #clearPending(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    p.stop.abort(new AbortError("pending update decided"));
  }

  /** Runs the hooks that follow every enabled state: listeners and the watcher. */
  async #enabled(from: State): Promise<void> {
    const to = this.#m.current.state as State;
    for (const l of this.#listeners ?? []) {
      try {
        l(from, to);
      } catch (e) {
        this.#log.warn("update listener failed", { error: errorReason(e) });
      }
    }
    if (this.#watch) {
      try {
        await this.#watch.handle.publish(this.#m.current);
      } catch (e) {
        this.#log.warn("publishing the state to the watcher failed", { error: errorReason(e) });
      }
    }
  }

  /**
   * @internal An update request from the peer. Called synchronously by the client's dispatcher so
   * that requests queue for the lock in arrival order.
   */
  handleUpdateRequest(msg: UpdateRequest, sender: Address): void {
    const senderIdx = this.#peers.findIndex((p) => p.equals(sender));
    if (senderIdx !== this.peerIdx) {
      // Not the channel's peer: answer the sender only, never touching the channel (a rejection
      // sent to the peer would end the wait of the peer's own update of that version).
      this.#log.info("rejecting an update from a non-participant", { sender: sender.toString() });
      this.#env.supervisor.spawn("reject an update of a non-participant", () =>
        this.#env.bus.publish(
          {
            sender: this.#env.ownWire,
            recipient: sender,
            message: {
              type: MessageType.ChannelUpdateRej,
              channelId: this.id,
              version: msg.state.version,
              reason: "sender is not the peer of this channel",
            },
          },
          { signal: this.#closeSignal },
        ),
      );
      return;
    }
    const local = this.#local;
    if (local && local.version === msg.state.version && senderIdx === this.peerIdx) {
      if (this.idx < senderIdx) {
        // Our own concurrent update wins: reject theirs right away, without the lock we hold.
        this.#env.supervisor.spawn("reject conflicting update", () =>
          this.#sendRej(msg.state.version, CONFLICT_REASON),
        );
        return;
      }
      local.conflict.abort(new UpdateConflictError(this.idHex, local.version));
    }
    const locked = this.#lock(undefined);
    this.#env.supervisor.spawn("handle update request", async () => {
      let release: Release;
      try {
        release = await locked;
      } catch {
        return; // closed meanwhile
      }
      try {
        await this.#processRequest(msg, senderIdx);
      } finally {
        release();
      }
    });
  }

  async #processRequest(msg: UpdateRequest, senderIdx: number): Promise<void> {
    const version = msg.state.version;
    const from = this.#m.current.state;
    try {
      if (senderIdx !== this.peerIdx) throw new ValidationError("sender is not the peer of this channel");
      if (!from) throw new ValidationError("channel has no current state");
      if (this.#m.phase !== Phase.Acting) {
        throw new StateTransitionError(
          this.idHex,
          `channel is in phase ${phaseName(this.#m.phase)}, not Acting`,
        );
      }
      if (msg.actorIdx !== senderIdx) {
        // The locked-funds rule of checkTwoPartyUpdate comes after the interceptors.
        throw new StateTransitionError(
          this.idHex,
          `${TwoPartyRule.actor} (actor ${msg.actorIdx}, sender ${senderIdx})`,
        );
      }
      await this.#m.machine.checkUpdate(msg.state, msg.actorIdx, msg.sig, senderIdx);
    } catch (e) {
      this.#log.info("rejecting invalid update", { version, reason: errorReason(e) });
      await this.#sendRej(version, errorReason(e));
      return;
    }
    if (await this.#intercepted(msg, senderIdx, from)) return;
    if (msg.type !== MessageType.ChannelUpdate) {
      await this.#sendRej(version, "not a parent of a virtual channel funded or settled through us");
      return;
    }
    try {
      checkTwoPartyUpdate(from, msg.state, msg.actorIdx, senderIdx);
    } catch (e) {
      this.#log.info("rejecting invalid update", { version, reason: errorReason(e) });
      await this.#sendRej(version, errorReason(e));
      return;
    }
    const handler = this.#env.updateHandler();
    if (!handler) {
      await this.#sendRej(version, "no update handler installed");
      return;
    }
    const done = new Deferred<void>();
    let used = false;
    const use = (): void => {
      if (used) throw new ResponderUsedError("update");
      used = true;
    };
    const responder: UpdateResponder = {
      accept: async (opts = {}) => {
        use();
        try {
          await this.#acceptRequest(msg, senderIdx, from, opts.signal);
        } finally {
          done.resolve();
        }
      },
      reject: async (reason, opts = {}) => {
        use();
        try {
          await this.#sendRej(version, reason, opts.signal);
        } finally {
          done.resolve();
        }
      },
    };
    try {
      await handler(
        this,
        cloneState(from),
        { state: cloneState(msg.state), actorIdx: msg.actorIdx },
        responder,
      );
    } catch (e) {
      this.#log.warn("update handler failed", { error: errorReason(e) });
      if (!used) await responder.reject(`update handler failed: ${errorReason(e)}`);
    }
    // The usual handler has decided by now: no decision timer (and close listener) per update.
    if (done.settled && !this.#closed) return;
    try {
      await withTimeout(
        done.promise,
        this.#env.decisionTimeoutMs,
        () => new RequestTimedOutError("update handler did not decide in time"),
        { signal: this.#closeSignal },
      );
    } catch (e) {
      if (!used) await responder.reject("no decision in time").catch(() => {});
      else throw e;
    }
  }

  /**
   * Lets the channel's interceptors (sub-channel funding/settlement) and the client's (hub) decide
   * on the request; true if one of them did (and its decision was carried out).
   */
  async #intercepted(msg: UpdateRequest, senderIdx: number, from: State): Promise<boolean> {
    let decision: InterceptDecision | undefined;
    try {
      for (const i of [...(this.#interceptors ?? []), this.#env.interceptUpdate]) {
        const d = i?.(this, cloneState(from), msg, senderIdx);
        if (d !== undefined) {
          decision = await d;
          break;
        }
      }
    } catch (e) {
      decision = { accept: false, reason: `internal error: ${errorReason(e)}` };
    }
    if (decision === undefined) return false;
    if (!decision.accept) {
      this.#log.info("rejecting update", { version: msg.state.version, reason: decision.reason });
      await this.#sendRej(msg.state.version, decision.reason);
      return true;
    }
    await this.#acceptRequest(msg, senderIdx, from);
    try {
      decision.onAccepted?.();
    } catch (e) {
      this.#log.warn("after-acceptance hook failed", { error: errorReason(e) });
    }
    return true;
  }

  async #acceptRequest(
    msg: UpdateRequest,
    senderIdx: number,
    from: State,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#closed) throw new ClosedError("channel");
    try {
      await this.#m.update(msg.state, msg.actorIdx);
      await this.#m.addSig(senderIdx, msg.sig);
      const sig = await this.#m.sig();
      await this.#send(
        { type: MessageType.ChannelUpdateAcc, channelId: this.id, version: msg.state.version, sig },
        combine(signal, this.#closeSignal),
      );
      await this.#m.enable();
    } catch (e) {
      if (this.#inPhase(Phase.Signing)) await this.#m.discardUpdate();
      throw e;
    }
    await this.#enabled(from);
  }

  async #sendRej(version: bigint, reason: string, signal?: AbortSignal): Promise<void> {
    await this.#send(
      { type: MessageType.ChannelUpdateRej, channelId: this.id, version, reason },
      combine(signal, this.#closeSignal),
    );
  }

  async #send(message: Message, signal: AbortSignal): Promise<void> {
    const recipient = this.#peers[this.peerIdx] as Address;
    await this.#env.bus.publish({ sender: this.#env.ownWire, recipient, message }, sigOpt(signal));
  }

  /** @internal An update answer for this channel; only the peer's answers count. */
  handleResponse(msg: UpdateResponse, sender: Address): void {
    if (!sender.equals(this.#peers[this.peerIdx] as Address)) {
      this.#log.warn("dropping an update answer from a non-participant", {
        version: msg.version,
        sender: sender.toString(),
      });
      return;
    }
    if (!this.#env.router.deliver(this.idHex, msg)) {
      this.#log.debug("dropping an update answer nobody waits for", { version: msg.version });
    }
  }

  // ------------------------------------------------------------------------------------ funding

  /** @internal Opening finished: funded. */
  async setFunded(): Promise<void> {
    const release = await this.#lock(undefined);
    try {
      await this.#m.setFunded();
    } finally {
      release();
    }
  }

  // ------------------------------------------------------------------------------------ watching

  /**
   * Registers the channel with the watcher (which refutes stale registrations on our behalf),
   * publishes every later enabled state to it and relays its adjudicator events: the channel's
   * phase follows them and `handler` is called for each. Resolves once watching has started; the
   * relay runs until the channel is settled or closed.
   */
  async watch(handler: AdjudicatorEventHandler, opts: CallOptions = {}): Promise<void> {
    const release = await this.#lock(opts.signal);
    try {
      if (this.#watch) throw new ValidationError(`channel ${this.idHex} is already watched`);
      const parent = this.#link?.parent;
      const handle = parent
        ? await this.#env.watcher.startWatchingSubChannel(parent.id, this.bestSignedState(), opts)
        : await this.#env.watcher.startWatchingLedgerChannel(this.bestSignedState(), opts);
      const loop = this.#relayEvents(handle, handler);
      this.#watch = { handle, loop };
    } finally {
      release();
    }
  }

  #signedState(): SignedState {
    const tx = this.#m.current;
    return { params: this.params, state: tx.state as State, sigs: tx.sigs as Signature[] };
  }

  async #relayEvents(handle: WatchHandle, handler: AdjudicatorEventHandler): Promise<void> {
    // Not awaited by `watch`: the loop is awaited by `close` and cannot reject.
    await Promise.resolve();
    try {
      for await (const ev of handle.events) {
        await this.#applyEvent(ev);
        try {
          await handler(ev);
        } catch (e) {
          this.#log.warn("adjudicator event handler failed", { error: errorReason(e) });
        }
      }
    } catch (e) {
      if (!this.#closed) this.#log.warn("adjudicator event stream failed", { error: errorReason(e) });
    }
  }

  /** Moves the machine to the phase an on-chain event implies. */
  async #applyEvent(ev: AdjudicatorEvent): Promise<void> {
    let release: Release;
    try {
      release = await this.#lock(undefined);
    } catch {
      return;
    }
    try {
      await this.#applyEventLocked(ev);
    } catch (e) {
      this.#log.warn("could not apply adjudicator event", { event: ev.type, error: errorReason(e) });
    } finally {
      release();
    }
  }

  async #applyEventLocked(ev: AdjudicatorEvent): Promise<void> {
    const phase = this.#m.phase;
    if (phase === Phase.Withdrawing || phase === Phase.Withdrawn || phase < Phase.Funding) return;
    if (ev.type !== "concluded" && ev.stateUnknown) {
      // The chain moved but its state could not be recovered: record the dispute phase only and
      // never adopt the placeholder state.
      this.#log.warn("adjudicator event without a recoverable state", {
        event: ev.type,
        version: ev.version,
      });
      if (phase !== Phase.Registered && phase !== Phase.Progressing && phase !== Phase.Progressed) {
        await this.#m.setRegistered();
      }
      return;
    }
    if (ev.type === "registered") {
      this.noteRegistered({ params: this.params, state: ev.state, sigs: [...ev.sigs] });
      if (phase !== Phase.Progressing && phase !== Phase.Progressed) await this.#m.setRegistered();
    } else if (ev.type === "progressed") {
      const cur = this.#m.current.state as State;
      if (phase === Phase.Progressed && ev.version <= cur.version) return;
      if (phase !== Phase.Registered && phase !== Phase.Progressing && phase !== Phase.Progressed) {
        await this.#m.setRegistered();
      }
      await this.#m.setProgressed(ev.state);
    }
  }

  // ------------------------------------------------------------------------------------ settlement

  /**
   * Settles the channel on chain and withdraws the own funds. A final channel is settled
   * cooperatively at once; any other channel is disputed: its current state is registered (unless
   * a registration is already on chain; an older one is refuted), the client waits for the
   * dispute (or force-execution) window to pass on chain, then concludes and withdraws. The
   * channel is closed afterwards (watching stops).
   *
   * @throws whatever the adjudicator throws; AbortError if `signal` aborts.
   */
  async settle(opts: SettleOptions = {}): Promise<void> {
    if (this.#link) {
      await this.#link.settle(this, opts);
      return;
    }
    const signal = opts.signal;
    if (this.#m.phase !== Phase.Final && this.#m.phase !== Phase.Withdrawing) {
      await this.#dispute(signal, "conclude");
    }
    const release = await this.#lock(signal);
    try {
      if (this.#m.phase !== Phase.Withdrawing) await this.#m.setWithdrawing();
      const subStates = new Map(this.descendants().map((c) => [c.idHex, c.bestSignedState().state]));
      // A final channel is concluded with its final state; otherwise with what the dispute left
      // on chain (a newer state the peer registered, which we signed).
      const tx = (this.#m.current.state as State).isFinal ? this.#m.current : await this.#concludeTx();
      await this.#env.adjudicator.withdraw(
        { ...this.#adjudicatorReq(opts.secondary ?? false), tx },
        subStates,
        sigOpt(signal),
      );
      await this.#m.setWithdrawn();
      this.#env.wallet.decrementUsage(this.params.parts[this.idx] as Address);
    } finally {
      release();
    }
    // The descendants were concluded with this channel: close them, children before parents.
    for (const c of this.descendants().reverse()) {
      if (c.#link?.kind === "hub-copy") {
        // The hub's copy stays until its other parent is concluded too (it needs its state).
        this.forgetChild(c);
        if (c.#holders !== undefined && c.#holders.size > 0) {
          // The watcher knows it under this parent only; this parent stops being watched now.
          if (c.#link.parent === this) await c.#unwatch();
          continue;
        }
      }
      await c.settledThroughParent();
    }
    await this.close();
  }

  /**
   * @internal The descendants (sub-channels, virtual channels) in DFS pre-order following the
   * `locked` order of their newest states — the order the adjudicator expects.
   */
  descendants(): Channel[] {
    const out: Channel[] = [];
    const visit = (ch: Channel, depth: number) => {
      if (depth > 64) return;
      for (const l of ch.bestSignedState().state.allocation.locked) {
        const child = ch.#children?.get(channelIdHex(l.id));
        if (!child) {
          ch.#log.warn("no state of a locked child channel", { child: channelIdHex(l.id) });
          continue;
        }
        out.push(child);
        visit(child, depth + 1);
      }
    };
    visit(this, 0);
    return out;
  }

  /**
   * @internal The channel's funds went back to its parent (settled off-chain into it) or its root
   * was concluded on chain with it: record the end (Withdrawn; persisted data removed) and close.
   */
  async settledThroughParent(): Promise<void> {
    let release: Release;
    try {
      release = await this.#lock(undefined);
    } catch {
      return;
    }
    try {
      if (this.#inPhase(Phase.Signing)) await this.#m.discardUpdate();
      const p = this.#m.phase;
      if (p === Phase.Acting || p === Phase.Funding || p === Phase.Registering) await this.#m.setRegistered();
      if (this.#m.phase !== Phase.Withdrawn) {
        if (this.#m.phase !== Phase.Withdrawing) await this.#m.setWithdrawing();
        await this.#m.setWithdrawn();
        if (this.#link?.kind !== "hub-copy") {
          this.#env.wallet.decrementUsage(this.params.parts[this.idx] as Address);
        }
      }
    } catch (e) {
      this.#log.warn("could not record the conclusion through the parent", { error: errorReason(e) });
    } finally {
      release();
    }
    await this.close();
  }

  /** Stops watching the channel (it stays open). */
  async #unwatch(): Promise<void> {
    const w = this.#watch;
    if (!w) return;
    this.#watch = undefined;
    try {
      await this.#env.watcher.stopWatching(this.id);
    } catch (e) {
      this.#log.warn("stopping the watcher failed", { error: errorReason(e) });
      return;
    }
    await w.loop;
  }

  /** @internal Funds of `child` are locked in this channel too (the hub's second parent). */
  adoptChild(child: Channel): void {
    this.#children ??= new Map();
    this.#children.set(child.idHex, child);
    child.#holders ??= new Set();
    child.#holders.add(this);
  }

  /** @internal `child` left this channel's tree (settled off-chain into it, or closed). */
  forgetChild(child: Channel): void {
    if (this.#children?.get(child.idHex) === child) this.#children.delete(child.idHex);
    child.#holders?.delete(this);
  }

  /**
   * Progresses an app channel on chain (spec §4.5): registers the channel if needed, waits until a
   * progression is allowed (after the dispute window; during the force-execution window), then
   * submits `updater(copy of current)` (version current + 1) signed by us alone. The app's rules
   * are enforced by the adjudicator; the generic rules are checked here.
   */
  async forceUpdate(updater: Updater, opts: CallOptions = {}): Promise<void> {
    const signal = opts.signal;
    if (!this.hasApp) throw new ValidationError("forceUpdate needs an app channel");
    await this.#dispute(signal, "progress");
    const release = await this.#lock(signal);
    try {
      const from = this.#m.current;
      const fromState = from.state as State;
      const next: State = {
        ...updater(cloneState(fromState)),
        id: fromState.id,
        version: fromState.version + 1n,
      };
      checkGenericTransition(this.params, fromState, next);
      await this.#m.setProgressing(next);
      try {
        const sig = await this.#m.sig();
        await this.#env.adjudicator.progress(
          { ...this.#adjudicatorReq(false), tx: from, newState: next, sig },
          sigOpt(signal),
        );
      } catch (e) {
        await this.#m.setRegistered();
        throw e;
      }
      await this.#m.setProgressed(next);
    } finally {
      release();
    }
  }

  #adjudicatorReq(secondary: boolean): AdjudicatorReq {
    return {
      params: this.params,
      account: this.#m.machine.account,
      tx: this.#m.current,
      idx: this.idx,
      secondary,
    };
  }

  /**
   * Brings the channel into the on-chain phase the next step needs (go-perun #367): registers the
   * current state unless an equal or newer one is registered (refuting an older one), then waits
   * for the dispute window to end. For `"conclude"` it also waits for the end of a
   * force-execution window; for `"progress"` a running force-execution window is fine.
   */
  async #dispute(signal: AbortSignal | undefined, next: "conclude" | "progress"): Promise<void> {
    const sub = await this.#env.adjudicator.subscribe(this.id, sigOpt(signal));
    let latest: AdjudicatorEvent | undefined;
    let changed = new Deferred<void>();
    const reader = (async () => {
      try {
        for await (const ev of sub) {
          latest = ev;
          changed.resolve();
        }
      } catch (e) {
        this.#log.warn("adjudicator subscription failed", { error: errorReason(e) });
      }
    })();
    const stop = combine(signal, this.#closeSignal);
    try {
      await this.#registerIfNeeded(signal);
      for (;;) {
        while (latest === undefined) {
          await abortable(changed.promise, stop);
          changed = new Deferred<void>();
        }
        const ev: AdjudicatorEvent = latest;
        if (ev.type === "concluded") return;
        await this.#applyEventIfNewer(ev, signal);
        const own = this.#m.current.state as State;
        if (ev.type === "registered" && ev.version < own.version && !(await ev.timeout.isElapsed())) {
          await this.#register(signal); // refute the stale registration
        }
        if (ev.type === "progressed" && next === "progress" && !(await ev.timeout.isElapsed())) return;
        await ev.timeout.wait({ signal: stop });
        if (latest === ev) return;
      }
    } finally {
      sub.close();
      await reader;
    }
  }

  async #applyEventIfNewer(ev: AdjudicatorEvent, signal: AbortSignal | undefined): Promise<void> {
    const release = await this.#lock(signal);
    try {
      await this.#applyEventLocked(ev);
    } finally {
      release();
    }
  }

  async #registerIfNeeded(signal: AbortSignal | undefined): Promise<void> {
    const phase = this.#m.phase;
    if (phase === Phase.Registered || phase === Phase.Progressed || phase === Phase.Progressing) return;
    await this.#register(signal);
  }

  /**
   * Registers the current state of this ledger channel on chain, with the newest states of all its
   * descendants (sub-channels and virtual channels at any depth), and returns without waiting for
   * the dispute window. A failed registration is logged, not thrown: the peer may have registered
   * the same or a newer state already (the adjudicator events tell). `settle` does this itself;
   * this is for tests and for parties that want to start a dispute early.
   *
   * @throws ValidationError for a sub-channel or virtual channel (register its root instead).
   */
  async register(opts: CallOptions = {}): Promise<void> {
    if (this.#link) throw new ValidationError("only a ledger channel can be registered; register its root");
    await this.#register(opts.signal);
  }

  async #register(signal: AbortSignal | undefined): Promise<void> {
    const release = await this.#lock(signal);
    try {
      if (this.#inPhase(Phase.Signing)) await this.#m.discardUpdate();
      await this.#m.setRegistering();
      const descendants = this.descendants();
      try {
        await this.#env.adjudicator.register(
          { ...this.#adjudicatorReq(false), tx: this.#m.current },
          descendants.map((c) => c.bestSignedState()),
          sigOpt(signal),
        );
      } catch (e) {
        // The peer may have registered the same or a newer state already; the events tell.
        this.#log.info("registration failed", { error: errorReason(e) });
      }
      await this.#m.setRegistered();
      for (const c of descendants) await c.#markRegistered();
    } finally {
      release();
    }
  }

  /** The tree of this descendant was registered: move to Registered (best effort). */
  async #markRegistered(): Promise<void> {
    let release: Release;
    try {
      release = await this.#lock(undefined);
    } catch {
      return;
    }
    try {
      const p = this.#m.phase;
      if (p === Phase.Signing) await this.#m.discardUpdate();
      if (this.#m.phase === Phase.Acting || this.#m.phase === Phase.Final) await this.#m.setRegistered();
    } catch (e) {
      this.#log.warn("could not mark the channel registered", { error: errorReason(e) });
    } finally {
      release();
    }
  }

  // ------------------------------------------------------------------------------------ lifecycle

  /** Reads the phase without the narrowing TypeScript applies after an earlier comparison. */
  #inPhase(p: Phase): boolean {
    return this.#m.phase === p;
  }

  async #lock(signal: AbortSignal | undefined): Promise<Release> {
    if (this.#closed) throw new ClosedError("channel");
    // A free lock is taken at once: no close signal (nor a combined signal) is needed then.
    if (!signal?.aborted) {
      const now = this.#mutex.tryLock();
      if (now) return now;
    }
    try {
      return await this.#mutex.lock({ signal: combine(signal, this.#closeSignal) });
    } catch (e) {
      if (this.#closed) throw new ClosedError("channel");
      throw e;
    }
  }

  /**
   * Stops watching, aborts pending operations of this channel and removes it from the client.
   * Idempotent. The persisted data stays (a settled channel's data was already removed).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeCtrl?.abort(new ClosedError("channel"));
    this.#env.onClosed(this);
    this.#link?.parent.forgetChild(this);
    const w = this.#watch;
    if (w) {
      try {
        await this.#env.watcher.stopWatching(this.id);
        await w.loop;
      } catch (e) {
        // The event stream may not end then (e.g. children still watched): do not wait for it.
        this.#log.warn("stopping the watcher failed", { error: errorReason(e) });
      }
    }
  }
}
