/**
 * Channel synchronisation (spec §4.9, which go-perun left unused): two peers exchange
 * `ChannelSync{phase, currentTx}` and both apply the same rules to what they receive, so that no
 * divergence survives a sync:
 *
 * - a fully signed newer state is adopted after every signature verified;
 * - a different state at the same version is a {@link SyncConflictError} (own state kept);
 * - a half-finished update (phase Signing, not fully signed) is completed if the peer enabled it,
 *   and discarded otherwise — the peer discards its own the same way;
 * - an interrupted opening (InitSigning) exchanges the version-0 signatures and enables; a side
 *   already funding (or open) answers it with its fully signed version 0, which the other side
 *   adopts after verifying every signature and checking it equals its own staged state.
 *
 * Syncs are answered in every phase from InitSigning on, also while the channel is still opening
 * or funding (the client hands those channels to the synchroniser too). Every message says
 * whether it is a request or a reply: a request is applied and always answered with a reply
 * (rate-limited per channel); a reply is applied and never answered; only a reply resolves our
 * pending sync. When the answer to our sync shows the peer behind what we hold now (e.g. it lacked
 * our version-0 signature), we send our state once more as a reply, which it applies.
 */
import {
  AbortError,
  type Address,
  abortable,
  type CallOptions,
  type ChannelBackend,
  channelIdEquals,
  channelIdHex,
  Deferred,
  type Logger,
  Phase,
  phaseName,
  RequestTimedOutError,
  type Signature,
  type State,
  sleep,
  stateEquals,
  timeoutSignal,
} from "@perun-ts/core";
import { type Bus, type ChannelSyncMessage, type Envelope, MessageType } from "@perun-ts/wire";
import type { Channel, ChannelAccess } from "./channel.js";
import { ClosedError, SyncConflictError, SyncError } from "./errors.js";
import type { PersistingMachine } from "./persisting-machine.js";
import type { TaskSupervisor } from "./supervisor.js";

/** What a sync did to the local channel. */
export type SyncOutcome =
  /** Both sides hold the same current state (nothing changed). */
  | "in-sync"
  /** A newer fully signed state of the peer became current. */
  | "adopted"
  /** A half-finished update was completed with the peer's signatures (or an interrupted opening). */
  | "completed"
  /** A half-finished update nobody completed was dropped. */
  | "discarded"
  /** The peer is behind; it adopts our state from our sync message. */
  | "peer-behind"
  /** Nothing to reconcile off-chain (e.g. the channel is in a dispute; the chain decides). */
  | "ignored";

/** Everything the synchroniser needs from its client. */
export interface SyncEnv {
  readonly bus: Bus;
  readonly ownWire: Address;
  readonly backend: ChannelBackend;
  readonly logger: Logger;
  readonly supervisor: TaskSupervisor;
  /** Aborted when the client closes. */
  readonly closeSignal: AbortSignal;
  /** How long to wait for the peer's answer. */
  readonly timeoutMs: number;
  /** Receives every rejected incoming sync (hostile or conflicting) and failed background sync. */
  readonly onError: (error: unknown) => void;
  /** Called (channel locked) when a sync enabled the version-0 state of an interrupted opening. */
  readonly onOpeningEnabled?: (channel: Channel) => void;
}

/** At most this many syncs of channels that are not (yet) open are kept. */
const MAX_EARLY = 64;

/**
 * At most this many sync requests of one channel are answered at once per second. An honest peer
 * sends one per sync it runs; the limit bounds the work a flood of replayed requests causes. A
 * request over the limit is still applied, and answered once the second is over (one deferred
 * answer per channel, carrying our state of then), so a peer that restarts often gets its answer.
 */
const MAX_ANSWERS_PER_SECOND = 3;

/**
 * Builds our sync message: phase and current transaction (the staged v0 during the opening);
 * `reply` marks it as the answer to the peer's request.
 */
export function ownSyncMessage(m: PersistingMachine, reply = false): ChannelSyncMessage | undefined {
  const phase = m.phase;
  const tx = phase === Phase.InitSigning ? m.staging : m.current;
  if (!tx.state) return undefined;
  return { type: MessageType.ChannelSync, phase, currentTx: tx, reply };
}

/**
 * Runs the sync protocol for the channels of one client. Incoming `ChannelSync` messages are
 * handed to `receive`; `sync` runs the active side for one channel.
 */
export class ChannelSynchronizer {
  readonly #env: SyncEnv;
  readonly #waiters = new Map<string, Deferred<Envelope<ChannelSyncMessage>>>();
  readonly #running = new Map<string, Promise<SyncOutcome>>();
  readonly #early = new Map<string, Envelope<ChannelSyncMessage>[]>();
  readonly #answered = new Map<string, number[]>();
  /** Channels with a deferred (rate-limited) answer scheduled. */
  readonly #deferred = new Set<string>();
  #earlyCount = 0;

  constructor(env: SyncEnv) {
    this.#env = env;
  }

  /**
   * Synchronises `channel` with its peer: sends our sync, waits for the peer's (at most the
   * configured timeout, or until `signal` aborts) and applies it. Concurrent calls for the same
   * channel share one run.
   *
   * @throws SyncError/SyncConflictError if the peer's sync is unusable or conflicts;
   *   RequestTimedOutError if no answer came in time; AbortError if `signal` aborts; ClosedError
   *   once the client is closed.
   */
  sync(channel: Channel, opts: CallOptions & { readonly timeoutMs?: number } = {}): Promise<SyncOutcome> {
    const key = channel.idHex;
    const running = this.#running.get(key);
    if (running) return running;
    const run = this.#run(channel, opts.signal, opts.timeoutMs ?? this.#env.timeoutMs).finally(() =>
      this.#running.delete(key),
    );
    this.#running.set(key, run);
    return run;
  }

  async #run(channel: Channel, signal: AbortSignal | undefined, timeoutMs: number): Promise<SyncOutcome> {
    const key = channel.idHex;
    const answer = new Deferred<Envelope<ChannelSyncMessage>>();
    this.#waiters.set(key, answer);
    const stop = timeoutSignal(
      timeoutMs,
      signal ? AbortSignal.any([signal, this.#env.closeSignal]) : this.#env.closeSignal,
    );
    try {
      const msg = await channel.runLocked(async (a) => ownSyncMessage(a.machine), stop);
      if (!msg) throw new SyncError(key, `nothing to sync in phase ${phaseName(channel.phase)}`);
      await this.#publish(channel, msg, stop);
      const env = await abortable(answer.promise, stop);
      return await channel.runLocked(async (a) => {
        const outcome = await this.#apply(channel, a, env, true);
        // The peer applied our request before answering; if its answer still lacks what we hold
        // now (our version-0 signature, a newer state), it could not use our request: send ours.
        const own = ownSyncMessage(a.machine, true);
        if (own && isBehind(env.message, own)) {
          await this.#publish(channel, own, timeoutSignal(this.#env.timeoutMs, this.#env.closeSignal));
        }
        return outcome;
      }, signal);
    } catch (e) {
      if (this.#env.closeSignal.aborted) throw new ClosedError("client");
      if (stop.aborted && e instanceof AbortError && !signal?.aborted) {
        throw new RequestTimedOutError(`no channel sync answer for ${key}`, { cause: e });
      }
      throw e;
    } finally {
      if (this.#waiters.get(key) === answer) this.#waiters.delete(key);
    }
  }

  /** Starts a sync in the background; failures go to `onError`. */
  syncInBackground(channel: Channel): void {
    this.#env.supervisor.spawn("channel sync", async () => {
      try {
        await this.sync(channel);
      } catch (e) {
        if (!(e instanceof ClosedError)) this.#env.onError(e);
      }
    });
  }

  /**
   * The peer `peer` (re)connected: syncs, in the background, each of `channels` with that peer
   * that may differ from the peer's view — a half-finished update (phase Signing: one pending or
   * staged). Channels whose sync runs already are skipped. Never blocks; failures go to `onError`.
   */
  syncWithPeer(peer: Address, channels: Iterable<Channel>): void {
    for (const channel of channels) {
      if (channel.phase !== Phase.Signing || this.#running.has(channel.idHex)) continue;
      if (!channel.peers[channel.peerIdx]?.equals(peer)) continue;
      this.syncInBackground(channel);
    }
  }

  /**
   * An incoming sync. `channel` is the open channel it names, if any; syncs of unknown channels
   * are kept (bounded) until `release` is called for the channel (it may be restored or opened
   * later).
   */
  receive(env: Envelope<ChannelSyncMessage>, channel: Channel | undefined): void {
    const id = env.message.currentTx.state?.id;
    if (!id) {
      this.#env.onError(new SyncError("unknown", "sync message without a state"));
      return;
    }
    const key = channelIdHex(id);
    if (!channel) {
      if (this.#earlyCount >= MAX_EARLY) {
        this.#env.onError(new SyncError(key, "sync of an unknown channel dropped (buffer full)"));
        return;
      }
      const list = this.#early.get(key) ?? [];
      list.push(env);
      this.#early.set(key, list);
      this.#earlyCount++;
      return;
    }
    const reply = env.message.reply;
    const waiter = this.#waiters.get(key);
    if (reply && waiter && channel.peers[channel.peerIdx]?.equals(env.sender)) {
      this.#waiters.delete(key);
      waiter.resolve(env);
      return;
    }
    // A reply nobody waits for (late, or the peer re-sending what we lacked) is applied, never
    // answered; a request is answered (rate-limited: over the limit, later).
    const answer = !reply && this.#mayAnswer(key);
    if (!reply && !answer) this.#deferAnswer(channel, env.sender);
    // Queue for the channel lock now, so requests are handled in arrival order.
    const done = channel.runLocked(async (a) => {
      let error: unknown;
      try {
        await this.#apply(channel, a, env, false);
      } catch (e) {
        error = e;
      }
      if (answer && channel.peers[channel.peerIdx]?.equals(env.sender)) {
        const own = ownSyncMessage(a.machine, true);
        if (own) await this.#publish(channel, own, timeoutSignal(this.#env.timeoutMs, this.#env.closeSignal));
      }
      // A sent, unanswered update of ours survived: our own sync (whose answer the peer sends
      // after handling that update) decides it. If ours is already waiting, its request may have
      // been lost while the peer was down (the peer's request shows it is back): send it again.
      if (!reply && this.#waiters.has(key) && channel.peers[channel.peerIdx]?.equals(env.sender)) {
        const own = ownSyncMessage(a.machine);
        if (own) await this.#publish(channel, own, timeoutSignal(this.#env.timeoutMs, this.#env.closeSignal));
      } else if (a.hasPending()) this.syncInBackground(channel);
      if (error !== undefined) throw error;
    });
    this.#env.supervisor.spawn("answer channel sync", async () => {
      try {
        await done;
      } catch (e) {
        if (!(e instanceof ClosedError)) this.#env.onError(e);
      }
    });
  }

  #mayAnswer(key: string): boolean {
    const now = Date.now();
    const recent = (this.#answered.get(key) ?? []).filter((t) => now - t < 1_000);
    if (recent.length >= MAX_ANSWERS_PER_SECOND) {
      this.#env.logger.warn("deferring a channel sync answer: too many in a second", { channel: key });
      this.#answered.set(key, recent);
      return false;
    }
    recent.push(now);
    this.#answered.set(key, recent);
    return true;
  }

  /**
   * Answers a rate-limited request once the limit allows, with our state of then (after the
   * request was applied). At most one deferred answer per channel is pending.
   */
  #deferAnswer(channel: Channel, sender: Address): void {
    const key = channel.idHex;
    if (this.#deferred.has(key) || !channel.peers[channel.peerIdx]?.equals(sender)) return;
    this.#deferred.add(key);
    this.#env.supervisor.spawn("deferred channel sync answer", async () => {
      try {
        const oldest = Math.min(...(this.#answered.get(key) ?? [Date.now()]));
        await sleep(Math.max(0, oldest + 1_000 - Date.now()), { signal: this.#env.closeSignal });
        this.#deferred.delete(key);
        if (!this.#mayAnswer(key)) return this.#deferAnswer(channel, sender);
        await channel.runLocked(async (a) => {
          const own = ownSyncMessage(a.machine, true);
          if (own)
            await this.#publish(channel, own, timeoutSignal(this.#env.timeoutMs, this.#env.closeSignal));
        }, this.#env.closeSignal);
      } catch (e) {
        this.#deferred.delete(key);
        if (!this.#env.closeSignal.aborted) this.#env.onError(e);
      }
    });
  }

  /** Hands the syncs that arrived before `channel` was open to it (in arrival order). */
  release(channel: Channel): void {
    const list = this.#early.get(channel.idHex);
    if (!list) return;
    this.#early.delete(channel.idHex);
    this.#earlyCount -= list.length;
    for (const env of list) this.receive(env, channel);
  }

  async #publish(channel: Channel, message: ChannelSyncMessage, signal: AbortSignal): Promise<void> {
    const recipient = channel.peers[channel.peerIdx] as Address;
    await this.#env.bus.publish({ sender: this.#env.ownWire, recipient, message }, { signal });
  }

  /** Applies the peer's sync to the locked channel (the rules at the top of this module). */
  async #apply(
    channel: Channel,
    a: ChannelAccess,
    env: Envelope<ChannelSyncMessage>,
    solicited: boolean,
  ): Promise<SyncOutcome> {
    const key = channel.idHex;
    const m = a.machine;
    const { phase: peerPhase, currentTx: tx } = env.message;
    const peerIdx = channel.peerIdx;
    if (!channel.peers[peerIdx]?.equals(env.sender)) {
      throw new SyncError(key, `sender ${env.sender.toString()} is not the peer of this channel`);
    }
    const state = tx.state;
    if (!state) throw new SyncError(key, "sync message without a state");
    if (!channelIdEquals(state.id, channel.id))
      throw new SyncError(key, "the state belongs to another channel");
    const n = channel.params.parts.length;
    if (tx.sigs.length !== n)
      throw new SyncError(key, `${tx.sigs.length} signature slots for ${n} participants`);

    if (peerPhase === Phase.InitSigning) {
      if (state.version !== 0n) throw new SyncError(key, "an opening sync must carry version 0");
      await this.#verifyPresent(channel, state, tx.sigs);
      return this.#completeOpening(channel, a, state, tx.sigs);
    }
    if (peerPhase === Phase.Progressed && tx.sigs.every((s) => s === undefined)) {
      return "ignored"; // an on-chain state: the adjudicator events carry it
    }
    const missing = tx.sigs.indexOf(undefined);
    if (missing >= 0) throw new SyncError(key, `signature ${missing} is missing`);
    await this.#verifyPresent(channel, state, tx.sigs);

    const phase = m.phase;
    if (phase === Phase.InitActing) throw new SyncError(key, "channel has no state yet");
    if (phase === Phase.InitSigning) {
      if (state.version !== 0n) {
        throw new SyncConflictError(key, 0n, state.version, "peer is past the opening we did not finish");
      }
      return this.#completeOpening(channel, a, state, tx.sigs);
    }
    const cur = m.current.state as State;
    const vo = cur.version;
    const vp = state.version;
    if (vp < vo) {
      if (m.phase === Phase.Signing) await m.discardUpdate();
      return "peer-behind";
    }
    if (vp === vo) {
      if (!stateEquals(state, cur)) {
        throw new SyncConflictError(key, vo, vp, `a different fully signed state at version ${vp}`);
      }
      if (m.phase === Phase.Signing) {
        // An own update we sent may still reach the peer after its unsolicited sync: keep it (the
        // receiver then runs its own sync). The answer to our own sync was sent after the peer
        // handled that update, so the peer did not enable it: drop it.
        if (!solicited && a.hasPending()) return "in-sync";
        await m.discardUpdate();
        return "discarded";
      }
      return "in-sync";
    }
    // The peer holds a newer fully signed state (all signatures, ours included, verified).
    if (phase !== Phase.Acting && phase !== Phase.Signing) {
      if (phase === Phase.Funding) {
        throw new SyncConflictError(key, vo, vp, "peer is ahead of a channel that is not funded here");
      }
      return "ignored"; // final or in a dispute: the chain decides
    }
    const from = cur;
    const staged = m.staging.state;
    if (phase === Phase.Signing && staged && stateEquals(staged, state)) {
      await addMissing(m, tx.sigs);
      await m.enable();
      await a.afterEnable(from);
      return "completed";
    }
    if (phase === Phase.Signing) await m.discardUpdate();
    await m.adopt(state, tx.sigs as Signature[]);
    await a.afterEnable(from);
    return "adopted";
  }

  async #completeOpening(
    channel: Channel,
    a: ChannelAccess,
    state: State,
    sigs: readonly (Signature | undefined)[],
  ): Promise<SyncOutcome> {
    const m = a.machine;
    const key = channel.idHex;
    if (m.phase === Phase.InitSigning) {
      const staged = m.staging.state as State;
      if (!stateEquals(staged, state)) {
        throw new SyncConflictError(key, 0n, 0n, "a different initial state");
      }
      await m.sig(); // the opening was agreed; our signature may not have been made before the crash
      await addMissing(m, sigs);
      if (m.staging.sigs.every((s) => s !== undefined)) {
        await m.enableInit();
        this.#env.onOpeningEnabled?.(channel);
        return "completed";
      }
      return "in-sync";
    }
    const cur = m.current.state;
    if (cur && cur.version === 0n && !stateEquals(cur, state)) {
      throw new SyncConflictError(key, 0n, 0n, "a different initial state");
    }
    return cur && cur.version > 0n ? "peer-behind" : "in-sync";
  }

  /** Verifies every present signature against its participant. */
  async #verifyPresent(
    channel: Channel,
    state: State,
    sigs: readonly (Signature | undefined)[],
  ): Promise<void> {
    const key = channel.idHex;
    for (const [i, sig] of sigs.entries()) {
      if (sig === undefined) continue;
      if (sig.length !== this.#env.backend.signatureLength) {
        throw new SyncError(key, `signature ${i} is malformed`);
      }
      let ok: boolean;
      try {
        ok = await this.#env.backend.verify(channel.params.parts[i] as Address, state, sig);
      } catch (e) {
        throw new SyncError(key, `signature ${i} is malformed`, { cause: e });
      }
      if (!ok) throw new SyncError(key, `signature ${i} is not participant ${i}'s signature on the state`);
    }
  }
}

/** A bus that reports new authenticated connections (an optional capability, e.g. NetBus's). */
export interface ConnectionReportingBus extends Bus {
  onPeerConnected(listener: (peer: Address) => void): () => void;
}

/** True if `bus` reports (re)connections, so the client can sync with a peer that came back. */
export function reportsConnections(bus: Bus): bus is ConnectionReportingBus {
  return typeof (bus as Partial<ConnectionReportingBus>).onPeerConnected === "function";
}

/**
 * True if the peer's `theirs` lacks what our fully signed `own` carries: an older version, or the
 * same version with a signature missing.
 */
function isBehind(theirs: ChannelSyncMessage, own: ChannelSyncMessage): boolean {
  const st = theirs.currentTx.state;
  const so = own.currentTx.state;
  if (!st || !so || own.currentTx.sigs.some((s) => s === undefined)) return false;
  if (st.version !== so.version) return st.version < so.version;
  return theirs.currentTx.sigs.some((s) => s === undefined);
}

/** Adds every signature the staging transaction still lacks (each is verified by the machine). */
async function addMissing(m: PersistingMachine, sigs: readonly (Signature | undefined)[]): Promise<void> {
  for (const [i, sig] of sigs.entries()) {
    if (sig !== undefined && m.staging.sigs[i] === undefined) await m.addSig(i, sig);
  }
}
