/**
 * The hub (intermediary) of virtual channels (spec §4.7): validates each participant's funding or
 * settlement proposal on its ledger channel with the hub, matches the two halves (with a timeout),
 * asks the `onVirtualChannel` policy, keeps a persisted, watched copy of the virtual channel with
 * its parents, and accepts or rejects both halves — each request is answered exactly once.
 */
import {
  type Account,
  type Address,
  channelIdEquals,
  channelIdHex,
  findSubAlloc,
  isFullySigned,
  type Params,
  type PersistedChannel,
  Phase,
  type SignedState,
  type State,
  StateMachine,
  stateEquals,
  ValidationError,
} from "@perun-ts/core";
import {
  MessageType,
  type VirtualChannelFundingProposalMessage,
  type VirtualChannelSettlementProposalMessage,
} from "@perun-ts/wire";
import { Channel } from "./channel.js";
import type { ChildLink, InterceptDecision, UpdateInterceptor, UpdateRequest } from "./child-link.js";
import { checkIndexMap, remap } from "./child-proposal.js";
import type { ClientInternals } from "./client-internals.js";
import { PersistingMachine } from "./persisting-machine.js";
import { fundingMismatch, settlementMismatch } from "./sub-channel.js";

/** What the hub's policy is asked about: a matched pair of funding proposals. */
export interface VirtualChannelRequest {
  /** The virtual channel's parameters. */
  readonly params: Params;
  /** Its fully signed initial state. */
  readonly initial: State;
  /** The hub's ledger channels funding it, in virtual participant order. */
  readonly parents: readonly [Channel, Channel];
  /** The participants' wire addresses, in virtual participant order. */
  readonly peers: readonly Address[];
}

/** The hub policy's answer. */
export type VirtualChannelVerdict =
  | { readonly accept: true }
  | { readonly accept: false; readonly reason: string };

/** Decides whether the hub funds a virtual channel (fees, limits, …). Default: accept. */
export type VirtualChannelPolicy = (
  request: VirtualChannelRequest,
) => VirtualChannelVerdict | Promise<VirtualChannelVerdict>;

/** Signs nothing: the hub's copy of a virtual channel is built for participant 0 without its key. */
class NonSigningAccount implements Account {
  constructor(readonly address: Address) {}
  signData(): Promise<Uint8Array> {
    return Promise.reject(new ValidationError("the hub's copy of a virtual channel cannot sign"));
  }
}

interface Half<M> {
  readonly parent: Channel;
  readonly from: State;
  readonly msg: M;
  /** Virtual participant index the parent's peer stands for. */
  readonly peerVirtualIdx: number;
  readonly decide: (d: InterceptDecision) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

function hubCopyLink(parent: Channel): ChildLink {
  return {
    parent,
    kind: "hub-copy",
    settle: () =>
      Promise.reject(
        new ValidationError("the hub's copy of a virtual channel is settled by its participants"),
      ),
  };
}

/** The hub role of one client. */
export class Hub {
  readonly #c: ClientInternals;
  readonly #policy: () => VirtualChannelPolicy | undefined;
  readonly #timeoutMs: number;
  readonly #funding = new Map<string, Half<VirtualChannelFundingProposalMessage>>();
  readonly #settling = new Map<string, Half<VirtualChannelSettlementProposalMessage>>();
  /** Per virtual channel: the hub's copy and its two parents. */
  readonly #copies = new Map<string, { copy: Channel; parents: readonly [Channel, Channel] }>();

  constructor(c: ClientInternals, policy: () => VirtualChannelPolicy | undefined, timeoutMs: number) {
    this.#c = c;
    this.#policy = policy;
    this.#timeoutMs = timeoutMs;
  }

  /** The interceptor the client installs for every channel. */
  readonly intercept: UpdateInterceptor = (ch, from, msg, senderIdx) => {
    if (msg.type === MessageType.VirtualChannelFundingProposal)
      return this.#onFunding(ch, from, msg, senderIdx);
    if (msg.type === MessageType.VirtualChannelSettlementProposal) return this.#onSettlement(ch, from, msg);
    return undefined;
  };

  /** Rejects every waiting half (client closing). */
  close(): void {
    for (const m of [this.#funding, this.#settling] as Map<string, Half<UpdateRequest>>[]) {
      for (const h of m.values()) {
        if (h.timer) clearTimeout(h.timer);
        h.decide({ accept: false, reason: "the hub is shutting down" });
      }
      m.clear();
    }
  }

  // ------------------------------------------------------------------------------------ funding

  async #onFunding(
    parent: Channel,
    from: State,
    msg: VirtualChannelFundingProposalMessage,
    senderIdx: number,
  ): Promise<InterceptDecision> {
    let peerVirtualIdx: number;
    try {
      peerVirtualIdx = await this.#checkFundingHalf(parent, from, msg, senderIdx);
    } catch (e) {
      return { accept: false, reason: `invalid virtual channel funding: ${errorText(e)}` };
    }
    const key = channelIdHex(msg.initial.state.id);
    return await new Promise<InterceptDecision>((decide) => {
      const half: Half<VirtualChannelFundingProposalMessage> = {
        parent,
        from,
        msg,
        peerVirtualIdx,
        decide,
        timer: undefined,
      };
      const other = this.#funding.get(key);
      if (!other) {
        half.timer = setTimeout(() => {
          if (this.#funding.get(key) !== half) return;
          this.#funding.delete(key);
          decide({ accept: false, reason: "no matching funding proposal of the other participant in time" });
        }, this.#timeoutMs);
        this.#funding.set(key, half);
        return;
      }
      const mismatch = matchFunding(other, half);
      if (mismatch) {
        decide({ accept: false, reason: `funding proposal does not match the other half: ${mismatch}` });
        return;
      }
      this.#funding.delete(key);
      if (other.timer) clearTimeout(other.timer);
      this.#c.supervisor.spawn("match virtual channel funding", () => this.#fundMatched(other, half));
    });
  }

  /** Checks one funding half; returns the virtual index of the parent's peer. Throws with the reason. */
  async #checkFundingHalf(
    parent: Channel,
    from: State,
    msg: VirtualChannelFundingProposalMessage,
    senderIdx: number,
  ): Promise<number> {
    const { params, state, sigs } = msg.initial;
    if (!parent.isLedgerChannel) throw new ValidationError("the parent is not a ledger channel");
    if (!channelIdEquals(this.#c.backend.calcId(params), state.id)) {
      throw new ValidationError("the initial state does not belong to the parameters");
    }
    if (!params.virtualChannel || params.ledgerChannel) throw new ValidationError("not a virtual channel");
    if (params.parts.length !== 2) throw new ValidationError("a virtual channel has 2 participants");
    if (state.version !== 0n || state.isFinal) throw new ValidationError("not an initial state");
    if (state.allocation.locked.length > 0) throw new ValidationError("the virtual channel locks funds");
    if (this.#copies.has(channelIdHex(state.id)))
      throw new ValidationError("the virtual channel exists already");
    const n = parent.params.parts.length;
    checkIndexMap(msg.indexMap, n);
    const peerVirtualIdx = msg.indexMap.indexOf(senderIdx);
    if (peerVirtualIdx < 0 || msg.indexMap[peerVirtualIdx ^ 1] !== parent.idx) {
      throw new ValidationError(
        "the index map must map one participant to the sender and the other to the hub",
      );
    }
    if (sigs.length !== 2) throw new ValidationError("the initial state needs 2 signatures");
    for (const [i, sig] of sigs.entries()) {
      if (
        !(sig instanceof Uint8Array) ||
        !(await this.#c.backend.verify(params.parts[i] as Address, state, sig))
      ) {
        throw new ValidationError(`signature ${i} on the initial state is invalid`);
      }
    }
    const moved = remap(state.allocation.balances, msg.indexMap, n);
    const reason = fundingMismatch(from, msg.state, state.id, moved, msg.indexMap);
    if (reason !== undefined) throw new ValidationError(reason);
    return peerVirtualIdx;
  }

  async #fundMatched(
    a: Half<VirtualChannelFundingProposalMessage>,
    b: Half<VirtualChannelFundingProposalMessage>,
  ): Promise<void> {
    const ordered = (a.peerVirtualIdx === 0 ? [a, b] : [b, a]) as [typeof a, typeof a];
    const [h0, h1] = ordered;
    const initial = h0.msg.initial;
    const peers = ordered.map((h) => h.parent.peers[h.parent.peerIdx] as Address);
    const reject = (reason: string) => {
      for (const h of ordered) h.decide({ accept: false, reason });
    };
    try {
      const verdict = await (this.#policy()?.({
        params: initial.params,
        initial: initial.state,
        parents: [h0.parent, h1.parent],
        peers,
      }) ?? { accept: true as const });
      if (!verdict.accept) {
        reject(`the hub rejects the virtual channel: ${verdict.reason}`);
        return;
      }
      const copy = await this.#createCopy(initial, peers, h0.parent, h1.parent);
      let accepted = 0;
      const onAccepted = () => {
        if (++accepted === 2) this.#c.logger.debug("virtual channel funded", { channel: copy.idHex });
      };
      for (const h of ordered) h.decide({ accept: true, onAccepted });
    } catch (e) {
      reject(`the hub could not fund the virtual channel: ${errorText(e)}`);
    }
  }

  /**
   * The hub's copy: persisted with its parent (ChannelCreated first), version 0 with both
   * signatures, funded, in the client (OnNewChannel), watched if its parent is, and following the
   * states registered on chain (so the hub can register and conclude its other parent with them).
   */
  async #createCopy(initial: SignedState, peers: Address[], p0: Channel, p1: Channel): Promise<Channel> {
    const c = this.#c;
    const { params, state } = initial;
    const machine = new PersistingMachine(
      new StateMachine(params, new NonSigningAccount(params.parts[0] as Address), 0, c.backend),
      c.persister,
    );
    await c.persister?.channelCreated(machine.machine.source(), peers, p0.id);
    const copy = new Channel(c.env, machine, peers, hubCopyLink(p0));
    p1.adoptChild(copy);
    await machine.init(state.allocation, state.data);
    if (!stateEquals(machine.staging.state as State, state)) {
      throw new ValidationError("the initial state is not the channel's initial state");
    }
    for (const [i, sig] of initial.sigs.entries()) await machine.addSig(i, sig);
    await machine.enableInit();
    await copy.setFunded();
    this.#keep(copy, p0, p1);
    c.registerChannel(copy);
    this.#followRegistrations(copy);
    try {
      await copy.watch(() => {});
    } catch (e) {
      c.logger.debug("the hub's copy of a virtual channel is not watched", { error: errorText(e) });
    }
    return copy;
  }

  /** Remembers `copy` with its parents until it is closed. */
  #keep(copy: Channel, p0: Channel, p1: Channel): void {
    const key = copy.idHex;
    this.#copies.set(key, { copy, parents: [p0, p1] });
    copy.closeSignal.addEventListener("abort", () => {
      if (this.#copies.get(key)?.copy === copy) this.#copies.delete(key);
      p1.forgetChild(copy);
    });
  }

  /**
   * Rebuilds the hub's copy of a virtual channel from persistence (spec §4.10) the way it was
   * created: participant 0 with a non-signing stand-in account, funds locked in `p0` (the persisted
   * parent) and `p1`. The caller registers it with the client and the watcher. A copy restored in
   * Funding is funded once both parents lock it.
   *
   * @throws ValidationError if the persisted data is not a hub copy or a parent does not lock it.
   */
  async restoreCopy(src: PersistedChannel, p0: Channel, p1: Channel): Promise<Channel> {
    const c = this.#c;
    const { params } = src;
    if (!params.virtualChannel || src.idx !== 0 || params.parts.length !== 2) {
      throw new ValidationError("not the hub's copy of a virtual channel");
    }
    for (const p of [p0, p1]) {
      if (!findSubAlloc(p.bestSignedState().state.allocation, src.id)) {
        throw new ValidationError(`parent ${p.idHex} does not lock the virtual channel`);
      }
    }
    const machine = new PersistingMachine(
      StateMachine.restore(src, new NonSigningAccount(params.parts[0] as Address), c.backend),
      c.persister,
    );
    // A fully signed staging state (initial, or the imported final one) survived a crash.
    if (machine.phase === Phase.InitSigning && isFullySigned(machine.staging, 2)) await machine.enableInit();
    if (machine.phase === Phase.Signing && isFullySigned(machine.staging, 2)) await machine.enable();
    if (machine.phase < Phase.Funding) throw new ValidationError("the copy was never fully signed");
    const copy = new Channel(c.env, machine, src.peers, hubCopyLink(p0));
    p1.adoptChild(copy);
    if (machine.phase === Phase.Funding) await copy.setFunded();
    this.#keep(copy, p0, p1);
    this.#followRegistrations(copy);
    return copy;
  }

  #followRegistrations(copy: Channel): void {
    this.#c.supervisor.spawn("follow virtual channel registrations", async () => {
      const sub = await this.#c.env.adjudicator.subscribe(copy.id, { signal: copy.closeSignal });
      const stop = () => sub.close();
      copy.closeSignal.addEventListener("abort", stop, { once: true });
      if (copy.closeSignal.aborted) stop();
      try {
        for await (const ev of sub) {
          if (ev.type === "registered") {
            copy.noteRegistered({ params: copy.params, state: ev.state, sigs: [...ev.sigs] });
          }
        }
      } finally {
        copy.closeSignal.removeEventListener("abort", stop);
      }
    });
  }

  // ------------------------------------------------------------------------------------ settlement

  async #onSettlement(
    parent: Channel,
    from: State,
    msg: VirtualChannelSettlementProposalMessage,
  ): Promise<InterceptDecision> {
    try {
      await this.#checkSettlementHalf(parent, from, msg);
    } catch (e) {
      return { accept: false, reason: `invalid virtual channel settlement: ${errorText(e)}` };
    }
    const key = channelIdHex(msg.final.state.id);
    return await new Promise<InterceptDecision>((decide) => {
      const half: Half<VirtualChannelSettlementProposalMessage> = {
        parent,
        from,
        msg,
        peerVirtualIdx: -1,
        decide,
        timer: undefined,
      };
      const other = this.#settling.get(key);
      if (!other) {
        half.timer = setTimeout(() => {
          if (this.#settling.get(key) !== half) return;
          this.#settling.delete(key);
          decide({
            accept: false,
            reason: "no matching settlement proposal of the other participant in time",
          });
        }, this.#timeoutMs);
        this.#settling.set(key, half);
        return;
      }
      if (other.parent === parent) {
        decide({
          accept: false,
          reason: "a settlement proposal for this virtual channel is pending already",
        });
        return;
      }
      if (!stateEquals(other.msg.final.state, msg.final.state)) {
        decide({ accept: false, reason: "the final state differs from the other participant's" });
        return;
      }
      this.#settling.delete(key);
      if (other.timer) clearTimeout(other.timer);
      this.#c.supervisor.spawn("match virtual channel settlement", () => this.#settleMatched(other, half));
    });
  }

  async #checkSettlementHalf(
    parent: Channel,
    from: State,
    msg: VirtualChannelSettlementProposalMessage,
  ): Promise<void> {
    const { params, state, sigs } = msg.final;
    const entry = this.#copies.get(channelIdHex(state.id));
    if (!entry) throw new ValidationError("unknown virtual channel");
    if (!entry.parents.includes(parent))
      throw new ValidationError("the channel is not a parent of the virtual channel");
    if (!channelIdEquals(this.#c.backend.calcId(params), state.id)) {
      throw new ValidationError("the final state does not belong to the parameters");
    }
    if (!state.isFinal) throw new ValidationError("the state is not final");
    if (sigs.length !== 2) throw new ValidationError("the final state needs 2 signatures");
    for (const [i, sig] of sigs.entries()) {
      if (
        !(sig instanceof Uint8Array) ||
        !(await this.#c.backend.verify(params.parts[i] as Address, state, sig))
      ) {
        throw new ValidationError(`signature ${i} on the final state is invalid`);
      }
    }
    const sub = findSubAlloc(from.allocation, state.id);
    if (!sub) throw new ValidationError("the parent does not lock the virtual channel");
    const credits = remap(state.allocation.balances, sub.indexMap, parent.params.parts.length);
    const reason = settlementMismatch(from, msg.state, state.id, credits);
    if (reason !== undefined) throw new ValidationError(reason);
  }

  async #settleMatched(
    a: Half<VirtualChannelSettlementProposalMessage>,
    b: Half<VirtualChannelSettlementProposalMessage>,
  ): Promise<void> {
    const final = a.msg.final;
    const entry = this.#copies.get(channelIdHex(final.state.id));
    const reject = (reason: string) => {
      for (const h of [a, b]) h.decide({ accept: false, reason });
    };
    if (!entry) {
      reject("unknown virtual channel");
      return;
    }
    try {
      await entry.copy.importState(final);
    } catch (e) {
      reject(`the hub cannot store the final state: ${errorText(e)}`);
      return;
    }
    let accepted = 0;
    const onAccepted = () => {
      if (++accepted < 2) return;
      this.#c.supervisor.spawn("remove settled virtual channel", async () => {
        for (const p of entry.parents) p.forgetChild(entry.copy);
        await entry.copy.settledThroughParent();
      });
    };
    for (const h of [a, b]) h.decide({ accept: true, onAccepted });
  }
}

/** Why two funding halves do not make one virtual channel, or `undefined` if they do. */
function matchFunding(
  a: Half<VirtualChannelFundingProposalMessage>,
  b: Half<VirtualChannelFundingProposalMessage>,
): string | undefined {
  if (a.parent === b.parent) return "a funding proposal for this virtual channel is pending already";
  if (!stateEquals(a.msg.initial.state, b.msg.initial.state)) return "the initial states differ";
  if (a.peerVirtualIdx === b.peerVirtualIdx) {
    return "both parents' peers stand for the same virtual participant";
  }
  return undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
