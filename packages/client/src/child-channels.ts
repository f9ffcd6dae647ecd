/**
 * Opening sub-channels and virtual channels (spec §4.6, §4.7): proposals in both directions, the
 * version-0 signature exchange and the funding through the parent channel(s).
 */
import {
  type Address,
  type Allocation,
  abortable,
  type CallOptions,
  channelIdHex,
  Deferred,
  Params,
  PeerRejectedError,
  Phase,
  StateMachine,
  toHex,
  ValidationError,
} from "@perun-ts/core";
import {
  type ChannelProposalRejMessage,
  type Envelope,
  type Message,
  MessageType,
  type SubChannelProposalAccMessage,
  type SubChannelProposalMessage,
  type VirtualChannelProposalAccMessage,
  type VirtualChannelProposalMessage,
} from "@perun-ts/wire";
import { Channel } from "./channel.js";
import type { ChildLink } from "./child-link.js";
import {
  checkChildProposalBase,
  checkIndexMap,
  checkParentFunds,
  checkVirtualChannelProposalShape,
  remap,
} from "./child-proposal.js";
import type { ClientInternals } from "./client-internals.js";
import { ChannelNotFundedError, ResponderUsedError } from "./errors.js";
import { channelNonce, randomNonceShare } from "./nonce.js";
import { PersistingMachine } from "./persisting-machine.js";
import { awaitSubChannelFunding, fundedAllocation, SubChannelLink } from "./sub-channel.js";
import { VirtualChannelLink } from "./virtual-channel.js";

/** A proposal of a channel funded from parent channels. */
export type ChildChannelProposal = SubChannelProposalMessage | VirtualChannelProposalMessage;

type ChildAnswer = Envelope<
  SubChannelProposalAccMessage | VirtualChannelProposalAccMessage | ChannelProposalRejMessage
>;

/** The responder handed to `onProposal` for child channel proposals (same shape as the ledger one). */
export interface ChildProposalResponder {
  accept(
    opts: { readonly participant: Address; readonly nonceShare?: Uint8Array } & CallOptions,
  ): Promise<Channel>;
  reject(reason: string, opts?: CallOptions): Promise<void>;
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs the child-channel opening protocols for one client. */
export class ChildChannels {
  readonly #c: ClientInternals;
  readonly #waiters = new Map<string, Deferred<ChildAnswer>>();

  constructor(internals: ClientInternals) {
    this.#c = internals;
  }

  /** Hands a proposal answer to its waiter; false if nobody waits for it. */
  deliverAnswer(env: Envelope): boolean {
    const m = env.message;
    if (
      m.type !== MessageType.SubChannelProposalAcc &&
      m.type !== MessageType.VirtualChannelProposalAcc &&
      m.type !== MessageType.ChannelProposalRej
    ) {
      return false;
    }
    const w = this.#waiters.get(toHex(m.proposalId));
    if (!w) return false;
    w.resolve(env as ChildAnswer);
    return true;
  }

  /** Fails every pending proposal (client closing). */
  close(reason: unknown): void {
    for (const w of this.#waiters.values()) w.reject(reason);
  }

  // ------------------------------------------------------------------------------------ checks

  /** The parent of a sub-channel proposal and the checks of spec §4.6 (both sides). */
  #subParent(p: SubChannelProposalMessage): Channel {
    checkChildProposalBase(p);
    const parent = this.#c.channel(channelIdHex(p.parent));
    if (!parent) throw new ValidationError(`unknown parent channel ${channelIdHex(p.parent)}`);
    if (parent.phase !== Phase.Acting) throw new ValidationError("the parent channel is not in phase Acting");
    if (parent.params.parts.length !== 2) throw new ValidationError("the parent must have 2 participants");
    if (parent.isVirtualChannel) throw new ValidationError("a virtual channel cannot fund sub-channels");
    checkParentFunds(
      parent.state,
      p.initBals.assets,
      p.initBals.balances.map((r) => [...r]),
    );
    return parent;
  }

  /** Own parent of a virtual channel proposal for own index `idx` and the checks of spec §4.7. */
  #virtualParent(p: VirtualChannelProposalMessage, idx: number): { parent: Channel; map: number[] } {
    checkVirtualChannelProposalShape(p);
    const parent = this.#c.channel(channelIdHex(p.parents[idx] as Uint8Array));
    if (!parent) throw new ValidationError("unknown own parent channel");
    if (!parent.isLedgerChannel)
      throw new ValidationError("the parent of a virtual channel must be a ledger channel");
    if (parent.phase !== Phase.Acting) throw new ValidationError("the parent channel is not in phase Acting");
    const n = parent.params.parts.length;
    const map = [...(p.indexMaps[idx] as number[])];
    checkIndexMap(map, n);
    // The own funds must come from (and return to) the own parent balance; the rest is the hub's.
    if (map[idx] !== parent.idx) {
      throw new ValidationError("the own index map must map the own participant to the own parent index");
    }
    checkParentFunds(parent.state, p.initBals.assets, remap(p.initBals.balances, map, n));
    return { parent, map };
  }

  // ------------------------------------------------------------------------------------ proposing

  /** `Client.proposeChannel` for sub- and virtual channels. */
  async propose(p: ChildChannelProposal, opts: CallOptions): Promise<Channel> {
    let peer: Address;
    let prepare: (acc: ChildAnswer["message"]) => OpenArgs;
    if (p.type === MessageType.SubChannelProposal) {
      const parent = this.#subParent(p);
      peer = parent.peers[parent.peerIdx] as Address;
      prepare = (acc) => {
        if (acc.type !== MessageType.SubChannelProposalAcc)
          throw new ValidationError("wrong acceptance type");
        const link = new SubChannelLink(parent);
        return {
          params: subParams(p, acc.nonceShare, parent, this.#c),
          idx: parent.idx,
          peers: parent.peers,
          link,
          initBals: p.initBals,
          initData: p.initData,
          attach: (ch) => link.attach(ch),
          fund: (ch, signal) =>
            parent.proposeUpdate(
              (s) => ({
                ...s,
                allocation: fundedAllocation(s.allocation, ch.id, p.initBals.balances, []),
              }),
              signal ? { signal } : {},
              { lockedMayChange: true },
            ),
        };
      };
    } else {
      if (!(p.peers[0] as Address).equals(this.#c.address)) {
        throw new ValidationError("the proposer must be the first peer");
      }
      const { parent, map } = this.#virtualParent(p, 0);
      peer = p.peers[1] as Address;
      prepare = (acc) => {
        if (acc.type !== MessageType.VirtualChannelProposalAcc)
          throw new ValidationError("wrong acceptance type");
        if (acc.responder.equals(p.proposer))
          throw new ValidationError("the responder's address equals the proposer's");
        const link = new VirtualChannelLink(parent, map);
        return {
          params: virtualParams(p, acc.nonceShare, acc.responder, this.#c),
          idx: 0,
          peers: p.peers,
          link,
          initBals: p.initBals,
          initData: p.initData,
          fund: (ch, signal) => link.fund(ch, signal ? { signal } : {}),
        };
      };
    }
    const key = toHex(p.proposalId);
    if (this.#waiters.has(key)) throw new ValidationError("proposal id already in use");
    const answer = new Deferred<ChildAnswer>();
    this.#waiters.set(key, answer);
    let env: ChildAnswer;
    try {
      const stop = this.#c.stopSignal(opts.signal);
      try {
        await this.#c.publish(peer, p, stop);
        env = await abortable(answer.promise, stop);
      } catch (e) {
        throw this.#c.waitError(e, opts.signal, "channel proposal");
      }
    } finally {
      this.#waiters.delete(key);
    }
    const msg = env.message;
    if (msg.type === MessageType.ChannelProposalRej)
      throw new PeerRejectedError("channel proposal", msg.reason);
    if (!env.sender.equals(peer)) throw new ValidationError("the acceptance comes from the wrong peer");
    return await this.#open(prepare(msg), opts.signal);
  }

  // ------------------------------------------------------------------------------------ answering

  /**
   * An incoming sub- or virtual channel proposal: checked (an invalid one is rejected with the
   * reason), then handed to `onProposal` with a responder.
   */
  async handleProposal(
    env: Envelope<ChildChannelProposal>,
    onProposal: (p: ChildChannelProposal, r: ChildProposalResponder) => void | Promise<void>,
  ): Promise<void> {
    const p = env.message;
    const reject = (reason: string, signal?: AbortSignal) =>
      this.#c.publish(
        env.sender,
        { type: MessageType.ChannelProposalRej, proposalId: p.proposalId, reason },
        this.#c.stopSignal(signal),
      );
    let accept: (o: { participant: Address; nonceShare?: Uint8Array } & CallOptions) => Promise<Channel>;
    try {
      accept = this.#prepareAccept(env);
    } catch (e) {
      this.#c.logger.info("rejecting invalid proposal", { reason: reasonOf(e) });
      await reject(`invalid proposal: ${reasonOf(e)}`);
      return;
    }
    let used = false;
    const use = (): void => {
      if (used) throw new ResponderUsedError("proposal");
      used = true;
    };
    const responder: ChildProposalResponder = {
      accept: async (o) => {
        use();
        return await accept(o);
      },
      reject: async (reason, o = {}) => {
        use();
        await reject(reason, o.signal);
      },
    };
    try {
      await onProposal(p, responder);
    } catch (e) {
      this.#c.logger.warn("proposal handler failed", { reason: reasonOf(e) });
      if (!used) await responder.reject(`proposal handler failed: ${reasonOf(e)}`);
    }
  }

  #prepareAccept(
    env: Envelope<ChildChannelProposal>,
  ): (o: { participant: Address; nonceShare?: Uint8Array } & CallOptions) => Promise<Channel> {
    const p = env.message;
    if (p.type === MessageType.SubChannelProposal) {
      const parent = this.#subParent(p);
      if (!(parent.peers[parent.peerIdx] as Address).equals(env.sender)) {
        throw new ValidationError("the sender is not the peer of the parent channel");
      }
      return async (o) => {
        const own = parent.params.parts[parent.idx] as Address;
        if (!o.participant.equals(own)) {
          throw new ValidationError("a sub-channel's participant must be the own participant of its parent");
        }
        const acc: SubChannelProposalAccMessage = {
          type: MessageType.SubChannelProposalAcc,
          proposalId: p.proposalId,
          nonceShare: o.nonceShare ?? randomNonceShare(),
        };
        const params = subParams(p, acc.nonceShare, parent, this.#c);
        // Listen for the parent update before the peer can send it (after our version-0 signature).
        const funding = awaitSubChannelFunding(parent, params.id, p.initBals.balances);
        const link = new SubChannelLink(parent);
        try {
          await this.#sendAcc(env.sender, acc, o.signal);
          return await this.#open(
            {
              params,
              idx: parent.idx,
              peers: parent.peers,
              link,
              initBals: p.initBals,
              initData: p.initData,
              attach: (ch) => link.attach(ch),
              fund: (_ch, signal) => abortable(funding.funded, this.#c.stopSignal(signal)),
            },
            o.signal,
          );
        } finally {
          funding.remove();
        }
      };
    }
    if (!(p.peers[0] as Address).equals(env.sender))
      throw new ValidationError("the sender is not the proposer");
    if (!(p.peers[1] as Address).equals(this.#c.address))
      throw new ValidationError("we are not the second peer");
    const { parent, map } = this.#virtualParent(p, 1);
    return async (o) => {
      if (o.participant.equals(p.proposer)) {
        throw new ValidationError("the responder's address equals the proposer's");
      }
      const acc: VirtualChannelProposalAccMessage = {
        type: MessageType.VirtualChannelProposalAcc,
        proposalId: p.proposalId,
        nonceShare: o.nonceShare ?? randomNonceShare(),
        responder: o.participant,
      };
      const link = new VirtualChannelLink(parent, map);
      await this.#sendAcc(env.sender, acc, o.signal);
      return await this.#open(
        {
          params: virtualParams(p, acc.nonceShare, acc.responder, this.#c),
          idx: 1,
          peers: p.peers,
          link,
          initBals: p.initBals,
          initData: p.initData,
          fund: (ch, signal) => link.fund(ch, signal ? { signal } : {}),
        },
        o.signal,
      );
    };
  }

  async #sendAcc(to: Address, acc: Message, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.#c.publish(to, acc, this.#c.stopSignal(signal));
    } catch (e) {
      throw this.#c.waitError(e, signal, "proposal acceptance");
    }
  }

  // ------------------------------------------------------------------------------------ opening

  /** Both sides: version-0 signatures with the peer, then funding through the parent. */
  async #open(a: OpenArgs, signal: AbortSignal | undefined): Promise<Channel> {
    const c = this.#c;
    const idHex = channelIdHex(a.params.id);
    c.openingStarted(idHex);
    const peer = a.peers[a.idx ^ 1] as Address;
    const response = c.env.router.expect(idHex, 0n);
    let channel: Channel | undefined;
    try {
      const account = await c.wallet.unlock(a.params.parts[a.idx] as Address);
      const machine = new PersistingMachine(
        new StateMachine(a.params, account, a.idx, c.backend),
        c.persister,
      );
      await c.persister?.channelCreated(machine.machine.source(), a.peers, a.link.parent.id);
      channel = new Channel(c.env, machine, a.peers, a.link);
      a.attach?.(channel);
      await machine.init(a.initBals, a.initData);
      const sig = await machine.sig();
      const stop = c.stopSignal(signal);
      let answer: Awaited<ReturnType<typeof response.wait>>;
      try {
        await c.publish(
          peer,
          { type: MessageType.ChannelUpdateAcc, channelId: a.params.id, version: 0n, sig },
          stop,
        );
        answer = await response.wait(stop);
      } catch (e) {
        throw c.waitError(e, signal, "initial state signature");
      }
      if (answer.type === MessageType.ChannelUpdateRej)
        throw new PeerRejectedError("channel opening", answer.reason);
      try {
        await machine.addSig(a.idx ^ 1, answer.sig);
      } catch (e) {
        const message: Message = {
          type: MessageType.ChannelUpdateRej,
          channelId: a.params.id,
          version: 0n,
          reason: reasonOf(e),
        };
        await c.publish(peer, message, stop).catch(() => {});
        throw e;
      }
      await machine.enableInit();
      try {
        await a.fund(channel, signal);
      } catch (e) {
        // Nothing was locked for it (or the parent update failed): the channel is dropped.
        throw new ChannelNotFundedError(channel, c.waitError(e, signal, "funding"));
      }
      await channel.setFunded();
      c.wallet.incrementUsage(a.params.parts[a.idx] as Address);
      c.registerChannel(channel);
      return channel;
    } catch (e) {
      await channel?.close();
      throw e;
    } finally {
      response.cancel();
      c.openingFinished(idHex);
    }
  }
}

interface OpenArgs {
  readonly params: Params;
  readonly idx: number;
  readonly peers: readonly Address[];
  readonly link: ChildLink;
  readonly initBals: Allocation;
  readonly initData: Uint8Array;
  /** Called with the new channel before its first state. */
  readonly attach?: (ch: Channel) => void;
  readonly fund: (ch: Channel, signal: AbortSignal | undefined) => Promise<void>;
}

function subParams(
  p: SubChannelProposalMessage,
  accNonce: Uint8Array,
  parent: Channel,
  c: ClientInternals,
): Params {
  return Params.create(
    {
      challengeDuration: p.challengeDuration,
      parts: parent.params.parts,
      app: p.app,
      nonce: channelNonce(p.nonceShare, accNonce),
      ledgerChannel: false,
      virtualChannel: false,
    },
    c.backend,
  );
}

function virtualParams(
  p: VirtualChannelProposalMessage,
  accNonce: Uint8Array,
  responder: Address,
  c: ClientInternals,
): Params {
  return Params.create(
    {
      challengeDuration: p.challengeDuration,
      parts: [p.proposer, responder],
      app: p.app,
      nonce: channelNonce(p.nonceShare, accNonce),
      ledgerChannel: false,
      virtualChannel: true,
    },
    c.backend,
  );
}
