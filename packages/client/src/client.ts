import {
  AbortError,
  type Address,
  type Adjudicator,
  type AppRegistry,
  abortable,
  type CallOptions,
  type ChannelBackend,
  type ChannelId,
  channelIdHex,
  Deferred,
  type Funder,
  type Logger,
  Params,
  PeerRejectedError,
  type Persister,
  Phase,
  RequestTimedOutError,
  type State,
  StateMachine,
  silentLogger,
  timeoutController,
  toHex,
  ValidationError,
  type Wallet,
  type Watcher,
} from "@perun-ts/core";
import {
  type Bus,
  type ChannelProposalRejMessage,
  type Envelope,
  type LedgerChannelProposalAccMessage,
  type LedgerChannelProposalMessage,
  type Message,
  MessageType,
  type Unsubscribe,
} from "@perun-ts/wire";
import { Channel, type ChannelEnv, sigOpt, type UpdateHandler } from "./channel.js";
import { type ChildChannelProposal, ChildChannels } from "./child-channels.js";
import type { UpdateRequest } from "./child-link.js";
import type { ClientInternals } from "./client-internals.js";
import { ChannelNotFundedError, ClosedError, ResponderUsedError } from "./errors.js";
import { Hub, type VirtualChannelPolicy } from "./hub.js";
import { channelNonce, randomNonceShare } from "./nonce.js";
import { PersistingMachine } from "./persisting-machine.js";
import { checkLedgerChannelAcc, checkLedgerChannelProposal } from "./proposal.js";
import { ResponseRouter } from "./response-router.js";
import { isRestorer, type RestoreOptions, type RestoreReport, restoreChannels } from "./restore.js";
import { TaskSupervisor } from "./supervisor.js";
import { ChannelSynchronizer, reportsConnections, type SyncOutcome } from "./sync.js";

/** Everything a client is made of. All collaborators are injected; nothing is global. */
export interface ClientOptions {
  /** The client's wire identity: envelopes to `identity.address` reach this client. */
  readonly identity: { readonly address: Address };
  readonly bus: Bus;
  readonly backend: ChannelBackend;
  /** Holds the accounts of the own channel participants. */
  readonly wallet: Wallet;
  readonly funder: Funder;
  readonly adjudicator: Adjudicator;
  readonly watcher: Watcher;
  /** Resolves app definitions (used for proposals built by this client; decoding uses the bus codec's). */
  readonly apps: AppRegistry;
  /** Stores every state-machine transition before anything is sent (optional). */
  readonly persister?: Persister;
  readonly logger?: Logger;
  /** How long an update handler may take to use its responder (default 10 s). */
  readonly decisionTimeoutMs?: number;
  /** As a hub: how long one half of a virtual channel's funding or settlement waits for the other (10 s). */
  readonly virtualMatchTimeoutMs?: number;
  /** How long a channel sync waits for the peer's answer (default 10 s). */
  readonly syncTimeoutMs?: number;
  /**
   * How long an opening (either side) waits for the peer's version-0 signature before failing
   * with `RequestTimedOutError` (default 30 s), also when the caller passed no signal.
   */
  readonly openingTimeoutMs?: number;
}

/** Answers one incoming channel proposal; exactly one call of `accept` or `reject`. */
export interface ProposalResponder {
  /**
   * Accepts: sends the acceptance with the own participant address, runs the version-0 signature
   * exchange and funding, and resolves with the funded channel.
   *
   * @throws ResponderUsedError on a second call; ChannelNotFundedError (with `.channel`) if funding
   *   failed; RequestTimedOutError if `signal` aborts while waiting for the peer.
   */
  accept(
    opts: { readonly participant: Address; readonly nonceShare?: Uint8Array } & CallOptions,
  ): Promise<Channel>;
  /** Rejects with `reason` (sent to the proposer). @throws ResponderUsedError on a second call. */
  reject(reason: string, opts?: CallOptions): Promise<void>;
}

/**
 * Decides on an incoming channel proposal: a ledger channel, a sub-channel of an open channel, or
 * a virtual channel (check `proposal.type`). For a sub-channel, `accept`'s participant must be the
 * own participant of the parent.
 */
export type ProposalHandler = (
  proposal: LedgerChannelProposalMessage | ChildChannelProposal,
  responder: ProposalResponder,
) => void | Promise<void>;

/** The handlers of the request loop. */
export interface Handlers {
  readonly onProposal: ProposalHandler;
  readonly onUpdate: UpdateHandler;
  /**
   * As a hub: decides whether to fund a virtual channel between two peers (called once both halves
   * matched). Rejecting rejects both funding proposals with the reason. Default: accept.
   */
  readonly onVirtualChannel?: VirtualChannelPolicy;
}

/** At most this many requests are buffered before `handle` is called, and this many early updates. */
const MAX_BUFFERED = 64;

type ProposalAnswer = Envelope<LedgerChannelProposalAccMessage | ChannelProposalRejMessage>;

interface EarlyUpdate {
  readonly msg: UpdateRequest;
  readonly sender: Address;
}

/**
 * A state-channel client (spec §4): opens two-party ledger channels, answers the peer's proposals
 * and updates through the handlers given to `handle`, and keeps the open channels.
 *
 * @example
 * ```ts
 * const client = new Client({ identity, bus, backend, wallet, funder, adjudicator, watcher, apps });
 * client.handle({
 *   onProposal: (p, r) => void r.accept({ participant: me }),
 *   onUpdate: (_ch, _cur, _u, r) => void r.accept(),
 * });
 * const ch = await client.proposeChannel(ledgerChannelProposal({ ... }), { signal });
 * await ch.update((s) => ({ ...s, allocation: transfer(s.allocation, 0, 1, [5n]) }));
 * ```
 */
export class Client {
  readonly #opts: ClientOptions;
  readonly #log: Logger;
  readonly #supervisor: TaskSupervisor;
  readonly #closeCtrl = new AbortController();
  readonly #channels = new Map<string, Channel>();
  readonly #openingIds = new Set<string>();
  readonly #proposalWaiters = new Map<string, Deferred<ProposalAnswer>>();
  readonly #early = new Map<string, EarlyUpdate[]>();
  readonly #newChannelCallbacks = new Set<(ch: Channel) => void>();
  readonly #router: ResponseRouter;
  readonly #unsubscribe: Unsubscribe;
  /** Stops the resync on reconnect (if the bus reports connections). */
  readonly #unwatchPeers: (() => void) | undefined;
  readonly #env: ChannelEnv;
  readonly #child: ChildChannels;
  readonly #hub: Hub;
  readonly #sync: ChannelSynchronizer;
  readonly #syncErrorCallbacks = new Set<(error: unknown) => void>();
  /**
   * Ledger channels still opening (from their staged version 0 until registered): they answer
   * syncs too, and `enabled` resolves when a sync enabled version 0 before the peer's signature
   * message arrived.
   */
  readonly #openingChannels = new Map<string, { channel: Channel; enabled: Deferred<void> }>();
  #earlyCount = 0;
  #openings = 0;
  #handlers: Handlers | undefined;
  #buffered: Envelope[] = [];
  #closed = false;

  constructor(opts: ClientOptions) {
    this.#opts = opts;
    this.#log = (opts.logger ?? silentLogger).child({ id: opts.identity.address.toString() });
    this.#supervisor = new TaskSupervisor(this.#log);
    this.#router = new ResponseRouter(
      (idHex, version) => version === 0n && (this.#openings > 0 || this.#openingIds.has(idHex)),
      // One early version-0 signature per opening in flight, with room for hostile extras.
      () => 2 * (this.#openings + this.#openingIds.size),
    );
    this.#env = {
      backend: opts.backend,
      adjudicator: opts.adjudicator,
      watcher: opts.watcher,
      wallet: opts.wallet,
      bus: opts.bus,
      logger: this.#log,
      ownWire: opts.identity.address,
      router: this.#router,
      supervisor: this.#supervisor,
      closeSignal: this.#closeCtrl.signal,
      updateHandler: () => this.#handlers?.onUpdate,
      decisionTimeoutMs: opts.decisionTimeoutMs ?? 10_000,
      onClosed: (ch) => {
        if (this.#channels.get(ch.idHex) === ch) this.#channels.delete(ch.idHex);
      },
      onUpdateTimedOut: (ch) => this.#sync.syncInBackground(ch),
      interceptUpdate: (ch, from, msg, senderIdx) => this.#hub.intercept(ch, from, msg, senderIdx),
    };
    const internals = this.#internals();
    this.#child = new ChildChannels(internals);
    this.#hub = new Hub(
      internals,
      () => this.#handlers?.onVirtualChannel,
      opts.virtualMatchTimeoutMs ?? 10_000,
    );
    this.#sync = new ChannelSynchronizer({
      bus: opts.bus,
      ownWire: opts.identity.address,
      backend: opts.backend,
      logger: this.#log,
      supervisor: this.#supervisor,
      closeSignal: this.#closeCtrl.signal,
      timeoutMs: opts.syncTimeoutMs ?? 10_000,
      onError: (e) => this.#syncFailed(e),
      onOpeningEnabled: (ch) => this.#openingChannels.get(ch.idHex)?.enabled.resolve(),
    });
    this.#unsubscribe = opts.bus.subscribe(opts.identity.address, (env) => this.#dispatch(env));
    // A peer that (re)connects may have missed the end of an update: sync the undecided channels.
    this.#unwatchPeers = reportsConnections(opts.bus)
      ? opts.bus.onPeerConnected((peer) => {
          if (!this.#closed) this.#sync.syncWithPeer(peer, this.#channels.values());
        })
      : undefined;
  }

  /** What the sub-channel, virtual-channel and hub protocols use of this client. */
  #internals(): ClientInternals {
    const o = this.#opts;
    return {
      address: o.identity.address,
      backend: o.backend,
      wallet: o.wallet,
      funder: o.funder,
      persister: o.persister,
      env: this.#env,
      logger: this.#log,
      supervisor: this.#supervisor,
      closeSignal: this.#closeCtrl.signal,
      channel: (idHex) => this.#channels.get(idHex),
      openingStarted: (idHex) => {
        if (this.#channels.has(idHex) || this.#openingIds.has(idHex)) {
          throw new ValidationError(`channel ${idHex} exists already`);
        }
        this.#openingIds.add(idHex);
      },
      openingFinished: (idHex) => {
        this.#openingIds.delete(idHex);
        this.#releaseEarly(idHex);
      },
      registerChannel: (ch) => {
        this.#register(ch);
        for (const cb of this.#newChannelCallbacks) {
          try {
            cb(ch);
          } catch (e) {
            this.#log.warn("onNewChannel callback failed", {
              error: e instanceof Error ? e.message : String(e),
            });
          }
        }
      },
      stopSignal: (signal) => this.#stopSignal(signal),
      waitError: (e, signal, what) => this.#waitError(e, signal, what),
      publish: (recipient, message, signal) =>
        this.#opts.bus.publish({ sender: this.address, recipient, message }, { signal }),
    };
  }

  /** The client's wire address. */
  get address(): Address {
    return this.#opts.identity.address;
  }

  /**
   * Starts answering the peer's requests: proposals go to `onProposal`, updates to `onUpdate`.
   * Requests received before are buffered (up to 64) and handled now. Call once.
   */
  handle(handlers: Handlers): void {
    if (this.#closed) throw new ClosedError("client");
    if (this.#handlers) throw new ValidationError("handle was already called");
    this.#handlers = handlers;
    const buffered = this.#buffered;
    this.#buffered = [];
    for (const env of buffered) this.#dispatch(env);
  }

  /** Calls `cb` for every channel that becomes funded (proposed or accepted). Returns an unsubscribe. */
  onNewChannel(cb: (ch: Channel) => void): () => void {
    this.#newChannelCallbacks.add(cb);
    return () => this.#newChannelCallbacks.delete(cb);
  }

  /** The open channel with this id, if any. */
  channel(id: ChannelId): Channel | undefined {
    return this.#channels.get(channelIdHex(id));
  }

  /** All open channels. */
  get channels(): readonly Channel[] {
    return [...this.#channels.values()];
  }

  // ------------------------------------------------------------------------------------ proposing

  /**
   * Proposes a two-party ledger channel (build it with `ledgerChannelProposal`), waits for the
   * peer's answer, exchanges the version-0 signatures and funds the channel.
   *
   * @throws ValidationError for an invalid proposal; PeerRejectedError if the peer rejects;
   *   RequestTimedOutError if `signal` aborts while waiting for the peer; ChannelNotFundedError
   *   (carrying the channel, for recovery by `settle`) if funding failed.
   */
  async proposeChannel(
    proposal: LedgerChannelProposalMessage | ChildChannelProposal,
    opts: CallOptions = {},
  ): Promise<Channel> {
    this.#throwIfClosed();
    if (proposal.type !== MessageType.LedgerChannelProposal) {
      this.#openings++;
      try {
        return await this.#child.propose(proposal, opts);
      } finally {
        this.#openingDone();
      }
    }
    checkLedgerChannelProposal(proposal);
    if (!(proposal.peers[0] as Address).equals(this.address)) {
      throw new ValidationError("the proposer must be the first peer");
    }
    const key = toHex(proposal.proposalId);
    if (this.#proposalWaiters.has(key)) throw new ValidationError("proposal id already in use");
    const answer = new Deferred<ProposalAnswer>();
    this.#proposalWaiters.set(key, answer);
    this.#openings++;
    try {
      const peer = proposal.peers[1] as Address;
      const stop = this.#stopSignal(opts.signal);
      let env: ProposalAnswer;
      try {
        await this.#opts.bus.publish(
          { sender: this.address, recipient: peer, message: proposal },
          { signal: stop },
        );
        env = await abortable(answer.promise, stop);
      } catch (e) {
        throw this.#waitError(e, opts.signal, "channel proposal");
      }
      const msg = env.message;
      if (msg.type === MessageType.ChannelProposalRej)
        throw new PeerRejectedError("channel proposal", msg.reason);
      checkLedgerChannelAcc(proposal, msg);
      return await this.#openChannel(proposal, msg, 0, opts.signal);
    } finally {
      this.#proposalWaiters.delete(key);
      this.#openingDone();
    }
  }

  #stopSignal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.#closeCtrl.signal]) : this.#closeCtrl.signal;
  }

  #waitError(e: unknown, signal: AbortSignal | undefined, what: string): unknown {
    if (this.#closeCtrl.signal.aborted) return new ClosedError("client");
    if (signal?.aborted && e instanceof AbortError) {
      return new RequestTimedOutError(`no answer to the ${what}`, { cause: e });
    }
    return e;
  }

  /** Both sides after the proposal was accepted: version-0 signatures, funding (spec §4.1). */
  async #openChannel(
    proposal: LedgerChannelProposalMessage,
    acc: LedgerChannelProposalAccMessage,
    idx: number,
    signal: AbortSignal | undefined,
  ): Promise<Channel> {
    const o = this.#opts;
    const params = Params.create(
      {
        challengeDuration: proposal.challengeDuration,
        parts: [proposal.participant, acc.participant],
        app: proposal.app,
        nonce: channelNonce(proposal.nonceShare, acc.nonceShare),
        ledgerChannel: true,
        virtualChannel: false,
      },
      o.backend,
    );
    const idHex = channelIdHex(params.id);
    if (this.#channels.has(idHex) || this.#openingIds.has(idHex)) {
      throw new ValidationError(`channel ${idHex} exists already`);
    }
    this.#openingIds.add(idHex);
    const peerIdx = idx ^ 1;
    const peer = proposal.peers[peerIdx] as Address;
    const response = this.#router.expect(idHex, 0n);
    let channel: Channel | undefined;
    try {
      const account = await o.wallet.unlock(params.parts[idx] as Address);
      const machine = new PersistingMachine(new StateMachine(params, account, idx, o.backend), o.persister);
      await o.persister?.channelCreated(machine.machine.source(), proposal.peers, undefined);
      channel = new Channel(this.#env, machine, proposal.peers);
      await machine.init(proposal.initBals, proposal.initData);
      const sig = await machine.sig();
      // From here on a peer restarted mid-opening can sync this channel (and complete it).
      const enabled = new Deferred<void>();
      this.#openingChannels.set(idHex, { channel, enabled });
      this.#sync.release(channel);
      const stop = this.#stopSignal(signal);
      // Never wait forever for the peer's signature (a lost message would hang `accept`).
      const deadlineTimer = timeoutController(o.openingTimeoutMs ?? 30_000, stop);
      const deadline = deadlineTimer.signal;
      let answer: Awaited<ReturnType<typeof response.wait>> | undefined;
      try {
        const message: Message = {
          type: MessageType.ChannelUpdateAcc,
          channelId: params.id,
          version: 0n,
          sig,
        };
        await o.bus.publish({ sender: this.address, recipient: peer, message }, { signal: deadline });
        answer = await Promise.race([response.wait(deadline), enabled.promise.then(() => undefined)]);
      } catch (e) {
        if (deadline.aborted && !stop.aborted && e instanceof AbortError) {
          throw new RequestTimedOutError(`no initial state signature of channel ${idHex} in time`, {
            cause: e,
          });
        }
        throw this.#waitError(e, signal, "initial state signature");
      } finally {
        deadlineTimer.clear(); // the wait is over: don't keep a timer per channel for 30 s
      }
      if (answer?.type === MessageType.ChannelUpdateRej)
        throw new PeerRejectedError("channel opening", answer.reason);
      const peerSig = answer?.sig;
      let sigAdded = false;
      try {
        // A sync may have enabled version 0 already (the peer restarted and sent its signature so).
        await channel.runLocked(async () => {
          if (machine.phase !== Phase.InitSigning) return;
          if (peerSig === undefined) throw new ValidationError("no initial state signature of the peer");
          await machine.addSig(peerIdx, peerSig);
          sigAdded = true;
          await machine.enableInit();
        });
      } catch (e) {
        if (sigAdded) throw e; // not the peer's fault (e.g. the persister failed)
        const reason = e instanceof Error ? e.message : String(e);
        const message: Message = {
          type: MessageType.ChannelUpdateRej,
          channelId: params.id,
          version: 0n,
          reason,
        };
        await o.bus
          .publish({ sender: this.address, recipient: peer, message }, { signal: stop })
          .catch(() => {});
        throw e;
      }
      try {
        await o.funder.fund(
          {
            params,
            state: machine.current.state as State,
            idx,
            agreement: proposal.fundingAgreement.map((r) => [...r]),
          },
          sigOpt(signal),
        );
      } catch (e) {
        // Still usable: `settle` disputes it and recovers the deposits (go-perun #42/#344).
        o.wallet.incrementUsage(params.parts[idx] as Address);
        this.#register(channel);
        throw new ChannelNotFundedError(channel, e);
      }
      await channel.setFunded();
      o.wallet.incrementUsage(params.parts[idx] as Address);
      this.#register(channel);
      for (const cb of this.#newChannelCallbacks) {
        try {
          cb(channel);
        } catch (e) {
          this.#log.warn("onNewChannel callback failed", {
            error: e instanceof Error ? e.message : String(e),
          });
        }
      }
      return channel;
    } finally {
      response.cancel();
      if (this.#openingChannels.get(idHex)?.channel === channel) this.#openingChannels.delete(idHex);
      this.#openingIds.delete(idHex);
      this.#releaseEarly(idHex);
    }
  }

  #register(channel: Channel): void {
    if (this.#closed) return;
    this.#channels.set(channel.idHex, channel);
    this.#sync.release(channel);
  }

  #openingDone(): void {
    this.#openings--;
    if (this.#openings === 0) {
      this.#router.prune();
      for (const idHex of [...this.#early.keys()]) {
        if (!this.#openingIds.has(idHex)) this.#releaseEarly(idHex);
      }
    }
  }

  /** Replays the updates that arrived before the channel was ready (or rejects them). */
  #releaseEarly(idHex: string): void {
    const list = this.#early.get(idHex);
    if (!list) return;
    this.#early.delete(idHex);
    this.#earlyCount -= list.length;
    for (const { msg, sender } of list) this.#routeUpdate(idHex, msg, sender);
  }

  // ------------------------------------------------------------------------------------ dispatch

  #dispatch(env: Envelope): void {
    if (this.#closed) return;
    const m = env.message;
    switch (m.type) {
      case MessageType.LedgerChannelProposal:
        if (!this.#handlers) this.#buffer(env);
        else {
          const handlers = this.#handlers;
          this.#supervisor.spawn("handle proposal", () =>
            this.#handleProposal(env as Envelope<LedgerChannelProposalMessage>, handlers),
          );
        }
        return;
      case MessageType.SubChannelProposal:
      case MessageType.VirtualChannelProposal:
        if (!this.#handlers) this.#buffer(env);
        else {
          const onProposal = this.#handlers.onProposal;
          this.#supervisor.spawn("handle child channel proposal", async () => {
            this.#openings++;
            try {
              await this.#child.handleProposal(env as Envelope<ChildChannelProposal>, onProposal);
            } finally {
              this.#openingDone();
            }
          });
        }
        return;
      case MessageType.SubChannelProposalAcc:
      case MessageType.VirtualChannelProposalAcc:
      case MessageType.LedgerChannelProposalAcc:
      case MessageType.ChannelProposalRej: {
        const waiter = this.#proposalWaiters.get(toHex(m.proposalId));
        if (
          waiter &&
          m.type !== MessageType.SubChannelProposalAcc &&
          m.type !== MessageType.VirtualChannelProposalAcc
        )
          waiter.resolve(env as ProposalAnswer);
        else if (!this.#child.deliverAnswer(env))
          this.#log.debug("dropping a proposal answer nobody waits for");
        return;
      }
      case MessageType.ChannelUpdate:
      case MessageType.VirtualChannelFundingProposal:
      case MessageType.VirtualChannelSettlementProposal:
        if (!this.#handlers && !this.#channels.has(channelIdHex(m.state.id))) this.#buffer(env);
        else this.#routeUpdate(channelIdHex(m.state.id), m, env.sender);
        return;
      case MessageType.ChannelUpdateAcc:
      case MessageType.ChannelUpdateRej: {
        const idHex = channelIdHex(m.channelId);
        const ch = this.#channels.get(idHex);
        if (ch) ch.handleResponse(m, env.sender);
        else {
          const full = this.#router.droppedCount;
          if (this.#router.deliver(idHex, m)) return;
          if (this.#router.droppedCount > full)
            this.#log.warn("dropping an early answer of an opening: too many cached", { channel: idHex });
          else this.#log.debug("dropping an answer for an unknown channel");
        }
        return;
      }
      case MessageType.ChannelSync: {
        const id = m.currentTx.state?.id;
        const idHex = id ? channelIdHex(id) : undefined;
        const channel = idHex
          ? (this.#channels.get(idHex) ?? this.#openingChannels.get(idHex)?.channel)
          : undefined;
        this.#sync.receive(env as Envelope<typeof m>, channel);
        return;
      }
      default:
        this.#log.debug("ignoring a message", { type: m.type });
    }
  }

  #buffer(env: Envelope): void {
    if (this.#buffered.length < MAX_BUFFERED) this.#buffered.push(env);
    else this.#log.warn("request buffer full; dropping a request received before handle()");
  }

  #routeUpdate(idHex: string, msg: UpdateRequest, sender: Address): void {
    const ch = this.#channels.get(idHex);
    if (ch) {
      ch.handleUpdateRequest(msg, sender);
      return;
    }
    if ((this.#openingIds.has(idHex) || this.#openings > 0) && this.#earlyCount < MAX_BUFFERED) {
      // The peer finished opening first: keep its update until our side is ready.
      const list = this.#early.get(idHex) ?? [];
      list.push({ msg, sender });
      this.#early.set(idHex, list);
      this.#earlyCount++;
      return;
    }
    this.#reply(sender, {
      type: MessageType.ChannelUpdateRej,
      channelId: msg.state.id,
      version: msg.state.version,
      reason: "unknown channel",
    });
  }

  #reply(recipient: Address, message: Message): void {
    this.#supervisor.spawn("reply", () =>
      this.#opts.bus.publish(
        { sender: this.address, recipient, message },
        { signal: this.#closeCtrl.signal },
      ),
    );
  }

  async #handleProposal(env: Envelope<LedgerChannelProposalMessage>, handlers: Handlers): Promise<void> {
    const proposal = env.message;
    const reject = (reason: string, signal?: AbortSignal) =>
      this.#opts.bus.publish(
        {
          sender: this.address,
          recipient: env.sender,
          message: { type: MessageType.ChannelProposalRej, proposalId: proposal.proposalId, reason },
        },
        { signal: this.#stopSignal(signal) },
      );
    try {
      checkLedgerChannelProposal(proposal);
      if (!(proposal.peers[0] as Address).equals(env.sender))
        throw new ValidationError("the sender is not the proposer");
      if (!(proposal.peers[1] as Address).equals(this.address))
        throw new ValidationError("we are not the second peer");
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.#log.info("rejecting invalid proposal", { reason });
      await reject(`invalid proposal: ${reason}`);
      return;
    }
    let used = false;
    const use = (): void => {
      if (used) throw new ResponderUsedError("proposal");
      used = true;
    };
    const responder: ProposalResponder = {
      accept: async (opts) => {
        use();
        this.#throwIfClosed();
        const acc: LedgerChannelProposalAccMessage = {
          type: MessageType.LedgerChannelProposalAcc,
          proposalId: proposal.proposalId,
          nonceShare: opts.nonceShare ?? randomNonceShare(),
          participant: opts.participant,
        };
        checkLedgerChannelAcc(proposal, acc);
        this.#openings++;
        try {
          try {
            await this.#opts.bus.publish(
              { sender: this.address, recipient: env.sender, message: acc },
              { signal: this.#stopSignal(opts.signal) },
            );
          } catch (e) {
            throw this.#waitError(e, opts.signal, "proposal acceptance");
          }
          return await this.#openChannel(proposal, acc, 1, opts.signal);
        } finally {
          this.#openingDone();
        }
      },
      reject: async (reason, opts = {}) => {
        use();
        await reject(reason, opts.signal);
      },
    };
    try {
      await handlers.onProposal(proposal, responder);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.#log.warn("proposal handler failed", { reason });
      if (!used) await responder.reject(`proposal handler failed: ${reason}`);
    }
  }

  // ------------------------------------------------------------------------------------ sync, restore

  /**
   * Synchronises `channel` with its peer (spec §4.9): both exchange their phase and current
   * transaction; a newer fully signed state is adopted (every signature verified), a half-finished
   * update is completed or discarded on both sides. The client also syncs on its own after
   * `restore`, whenever an update got no answer in time, and — on a bus that reports connections
   * (NetBus `onPeerConnected`) — for every channel in Signing when its peer (re)connects.
   *
   * @throws SyncConflictError if the peer holds a different state at the same version (the own
   *   state is kept); SyncError for an unusable answer; RequestTimedOutError without an answer.
   */
  sync(channel: Channel, opts: CallOptions & { readonly timeoutMs?: number } = {}): Promise<SyncOutcome> {
    this.#throwIfClosed();
    return this.#sync.sync(channel, opts);
  }

  /**
   * Calls `cb` with every rejected incoming sync (forged, foreign, conflicting) and every failed
   * background sync. Returns an unsubscribe.
   */
  onSyncError(cb: (error: unknown) => void): () => void {
    this.#syncErrorCallbacks.add(cb);
    return () => this.#syncErrorCallbacks.delete(cb);
  }

  #syncFailed(error: unknown): void {
    this.#log.warn("channel sync failed", { error: error instanceof Error ? error.message : String(error) });
    for (const cb of this.#syncErrorCallbacks) {
      try {
        cb(error);
      } catch {
        // a failing listener must not stop the others
      }
    }
  }

  /**
   * Restores every persisted channel (spec §4.10): rebuilt parents first, wallet usage counted,
   * re-registered with the watcher, put into the client (`onNewChannel` is called for each), then
   * synced with the peer; a channel restored in Funding finishes funding. Call after `handle`.
   * Resuming failures (peer offline, funding failed) are reported per channel, not thrown.
   *
   * @throws ValidationError if no restorer is available.
   */
  async restore(opts: RestoreOptions = {}): Promise<RestoreReport> {
    this.#throwIfClosed();
    const restorer = opts.restorer ?? (isRestorer(this.#opts.persister) ? this.#opts.persister : undefined);
    if (!restorer) throw new ValidationError("restore needs a Restorer (client persister or opts.restorer)");
    const o = this.#opts;
    return restoreChannels(
      {
        ownWire: o.identity.address,
        persister: o.persister,
        wallet: o.wallet,
        backend: o.backend,
        funder: o.funder,
        logger: this.#log,
        isOpen: (idHex) => this.#channels.has(idHex) || this.#openingIds.has(idHex),
        newChannel: (machine, peers, link) => new Channel(this.#env, machine, peers, link),
        channel: (idHex) => this.#channels.get(idHex),
        channels: () => [...this.#channels.values()],
        restoreHubCopy: (src, p0, p1) => this.#hub.restoreCopy(src, p0, p1),
        register: (ch) => {
          this.#register(ch);
          for (const cb of this.#newChannelCallbacks) {
            try {
              cb(ch);
            } catch (e) {
              this.#log.warn("onNewChannel callback failed", {
                error: e instanceof Error ? e.message : String(e),
              });
            }
          }
        },
        unregister: (ch) => {
          if (this.#channels.get(ch.idHex) === ch) this.#channels.delete(ch.idHex);
        },
        sync: (ch, syncOpts) => this.#sync.sync(ch, syncOpts),
      },
      restorer,
      opts,
    );
  }

  // ------------------------------------------------------------------------------------ lifecycle

  #throwIfClosed(): void {
    if (this.#closed) throw new ClosedError("client");
  }

  /**
   * Closes every channel (stops watching them), stops receiving from the bus and waits for all
   * background work. The persister is not closed (it belongs to the caller). Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#unwatchPeers?.();
    this.#closeCtrl.abort(new ClosedError("client"));
    for (const w of this.#proposalWaiters.values()) w.reject(new ClosedError("client"));
    this.#child.close(new ClosedError("client"));
    this.#hub.close();
    await Promise.all([...this.#channels.values()].map((ch) => ch.close()));
    await this.#supervisor.drain();
  }
}
