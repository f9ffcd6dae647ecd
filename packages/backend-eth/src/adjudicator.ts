import { adjudicatorAbi, assetHolderAbi } from "@perun-ts/contracts";
import {
  type Adjudicator,
  type AdjudicatorReq,
  type AdjudicatorSubscription,
  type CallOptions,
  type ChannelId,
  channelIdHex,
  type Logger,
  type Params,
  type ProgressReq,
  type SignedState,
  type State,
  silentLogger,
  ValidationError,
} from "@perun-ts/core";
import { encodeFunctionData, type Hex } from "viem";
import { type EthAppResolver, opaqueAppResolver } from "./calldata.js";
import type { EthChain } from "./chain.js";
import { bytesToHex0x, encodeWithdrawalAuth, fundingIdOf, toEthParams, toEthState } from "./encoding.js";
import { TxFailedError } from "./errors.js";
import type { EthAccount } from "./eth-account.js";
import { EthAddress } from "./eth-address.js";
import { EthAsset } from "./eth-asset.js";
import { ChannelUpdateSubscription, DisputePhase, type KnownStateLookup } from "./subscription.js";

/** Options of an {@link EthAdjudicator}. */
export interface EthAdjudicatorOptions {
  readonly chain: EthChain;
  /** Address of the Adjudicator contract (any ABI-compatible deployment). */
  readonly adjudicator: EthAddress;
  /**
   * The account that sends (and pays gas for) adjudicator and withdraw transactions. Default: the
   * request's own account, if it is an `EthAccount`.
   */
  readonly txSender?: EthAccount;
  /** Where withdrawals are paid. Default: the address of the sending account. */
  readonly receiver?: EthAddress;
  /** First block searched for past events (e.g. the deployment block); default 0. */
  readonly startBlock?: bigint;
  /** Largest block range of one `eth_getLogs` call; default 10,000. */
  readonly maxLogRange?: bigint;
  /** Resolves the app of states rebuilt from chain data; default {@link opaqueAppResolver}. */
  readonly resolveApp?: EthAppResolver;
  /** Locally known states, for updates whose calldata cannot be decoded (see {@link KnownStateLookup}). */
  readonly knownStates?: KnownStateLookup;
  /** Use `debug_traceTransaction` for calls through other contracts; default true. */
  readonly traceCalls?: boolean;
  readonly logger?: Logger;
}

/** The on-chain dispute record (`disputes(channelId)`). */
export interface DisputeRecord {
  readonly timeout: bigint;
  readonly challengeDuration: bigint;
  readonly version: bigint;
  readonly hasApp: boolean;
  readonly phase: number;
  readonly stateHash: Hex;
  /** `stateHash` is non-zero. */
  readonly registered: boolean;
}

const ZERO_HASH = `0x${"00".repeat(32)}`;

/**
 * The Ethereum `Adjudicator`: register (the whole channel tree), progress, conclude or concludeFinal
 * (spec-eth §5.4), waiting in chain time for the phase to end first (go-perun #367), and withdrawal
 * of the participant's on-chain `holdings` with a signed withdrawal authorization. A peer having
 * concluded or withdrawn first is not an error. Events come from {@link ChannelUpdateSubscription}.
 */
export class EthAdjudicator implements Adjudicator {
  readonly #o: EthAdjudicatorOptions;
  readonly #logger: Logger;

  constructor(opts: EthAdjudicatorOptions) {
    this.#o = opts;
    this.#logger = opts.logger ?? silentLogger;
  }

  get chain(): EthChain {
    return this.#o.chain;
  }

  /**
   * Registers the root's state with every descendant (DFS pre-order). A final state is registered
   * too (its dispute ends at once); `withdraw` then concludes it.
   */
  async register(
    req: AdjudicatorReq,
    subChannels: readonly SignedState[],
    opts: CallOptions = {},
  ): Promise<void> {
    const root = signedOf(req);
    checkIndexMaps(root, subChannels);
    const data = encodeFunctionData({
      abi: adjudicatorAbi,
      functionName: "register",
      args: [ethSigned(root), subChannels.map(ethSigned)],
    });
    await this.#send(req, data, "register", opts.signal);
  }

  /** `progress(params, registered state, new state, req.idx, req.sig)`. */
  async progress(req: ProgressReq, opts: CallOptions = {}): Promise<void> {
    const old = req.tx.state;
    if (!old) throw new ValidationError("progress needs the registered state in req.tx");
    const data = encodeFunctionData({
      abi: adjudicatorAbi,
      functionName: "progress",
      args: [
        toEthParams(req.params),
        toEthState(old),
        toEthState(req.newState),
        BigInt(req.idx),
        bytesToHex0x(req.sig),
      ],
    });
    await this.#send(req, data, "progress", opts.signal);
  }

  /**
   * Concludes the channel if nobody did yet (waiting for the dispute to end in chain time), then
   * withdraws the participant's whole `holdings` of every asset. Idempotent.
   */
  async withdraw(
    req: AdjudicatorReq,
    subStates: ReadonlyMap<string, State>,
    opts: CallOptions = {},
  ): Promise<void> {
    await this.#ensureConcluded(req, subStates, opts.signal);
    await this.#withdrawAll(req, opts.signal);
  }

  async subscribe(id: ChannelId, _opts: CallOptions = {}): Promise<AdjudicatorSubscription> {
    return ChannelUpdateSubscription.open({
      chain: this.#o.chain,
      adjudicator: this.#o.adjudicator,
      id,
      startBlock: this.#o.startBlock ?? 0n,
      maxLogRange: this.#o.maxLogRange ?? 10_000n,
      resolveApp: this.#o.resolveApp ?? opaqueAppResolver,
      ...(this.#o.knownStates ? { knownStates: this.#o.knownStates } : {}),
      ...(this.#o.traceCalls === undefined ? {} : { traceCalls: this.#o.traceCalls }),
      logger: this.#logger,
    });
  }

  /** The on-chain dispute record of a channel (at the latest block). */
  async dispute(id: ChannelId): Promise<DisputeRecord> {
    const { chain } = this.#o;
    const [timeout, challengeDuration, version, hasApp, phase, stateHash] = await chain.rpc("disputes", () =>
      chain.client.readContract({
        address: this.#o.adjudicator.hex,
        abi: adjudicatorAbi,
        functionName: "disputes",
        args: [channelIdHex(id) as Hex],
      }),
    );
    return {
      timeout,
      challengeDuration,
      version,
      hasApp,
      phase,
      stateHash,
      registered: stateHash !== ZERO_HASH,
    };
  }

  async #ensureConcluded(req: AdjudicatorReq, subStates: ReadonlyMap<string, State>, signal?: AbortSignal) {
    const root = signedOrPartial(req);
    const id = req.params.id;
    let d = await this.dispute(id);
    if (d.phase === DisputePhase.CONCLUDED && d.registered) return;
    const s = root.state;
    const fullySigned = root.sigs !== undefined;
    const useFinal =
      s.isFinal &&
      s.allocation.locked.length === 0 &&
      fullySigned &&
      !(d.registered && d.phase === DisputePhase.FORCEEXEC);
    let data: Hex;
    if (useFinal) {
      data = encodeFunctionData({
        abi: adjudicatorAbi,
        functionName: "concludeFinal",
        args: [toEthParams(req.params), toEthState(s), (root.sigs ?? []).map(bytesToHex0x)],
      });
    } else {
      // conclude needs the phase to have ended: timeout, plus the unused force-execution window
      // of an app channel still in DISPUTE (go-perun #367)
      if (d.registered) {
        const end =
          d.phase === DisputePhase.DISPUTE && d.hasApp ? d.timeout + d.challengeDuration : d.timeout;
        await this.#o.chain.waitForChainTime(end, signal);
        d = await this.dispute(id);
        if (d.phase === DisputePhase.CONCLUDED) return;
      }
      data = encodeFunctionData({
        abi: adjudicatorAbi,
        functionName: "conclude",
        args: [toEthParams(req.params), toEthState(s), dfsSubStates(s, subStates).map(toEthState)],
      });
    }
    try {
      await this.#send(req, data, useFinal ? "concludeFinal" : "conclude", signal);
    } catch (err) {
      // a peer may have concluded first
      if (err instanceof TxFailedError && (await this.dispute(id)).phase === DisputePhase.CONCLUDED) return;
      throw err;
    }
  }

  async #withdrawAll(req: AdjudicatorReq, signal?: AbortSignal): Promise<void> {
    const { chain } = this.#o;
    const state = req.tx.state;
    if (!state) throw new ValidationError("withdraw needs the channel state in req.tx");
    const participant = req.params.parts[req.idx];
    if (!participant) throw new ValidationError("own index out of range");
    const sender = this.#sender(req);
    const receiver = this.#o.receiver ?? sender.address;
    const fid = bytesToHex0x(fundingIdOf(req.params.id, participant));
    await Promise.all(
      state.allocation.assets.map(async (a) => {
        const asset = EthAsset.from(a);
        const amount = await chain.rpc("holdings", () =>
          chain.client.readContract({
            address: asset.hex,
            abi: assetHolderAbi,
            functionName: "holdings",
            args: [fid],
          }),
        );
        if (amount === 0n) return; // nothing held, or already withdrawn
        const auth = {
          channelID: bytesToHex0x(req.params.id),
          participant: EthAddress.from(participant).hex,
          receiver: receiver.hex,
          amount,
        };
        const sig = await req.account.signData(encodeWithdrawalAuth(auth));
        const data = encodeFunctionData({
          abi: assetHolderAbi,
          functionName: "withdraw",
          args: [auth, bytesToHex0x(sig)],
        });
        try {
          await chain.send(
            sender.txAccount,
            { to: asset.hex, data },
            { label: "withdraw", ...(signal && { signal }) },
          );
        } catch (err) {
          // withdrawn concurrently (e.g. by a second call): nothing left is fine
          if (err instanceof TxFailedError) {
            const left = await chain.client.readContract({
              address: asset.hex,
              abi: assetHolderAbi,
              functionName: "holdings",
              args: [fid],
            });
            if (left === 0n) return;
          }
          throw err;
        }
      }),
    );
  }

  #sender(req: AdjudicatorReq): EthAccount {
    if (this.#o.txSender) return this.#o.txSender;
    const acc = req.account as Partial<EthAccount>;
    if (acc.txAccount === undefined || !(acc.address instanceof EthAddress)) {
      throw new ValidationError("no txSender configured and the request's account cannot send transactions");
    }
    return req.account as EthAccount;
  }

  async #send(req: AdjudicatorReq, data: Hex, label: string, signal?: AbortSignal): Promise<void> {
    this.#logger.debug("adjudicator tx", { label, id: channelIdHex(req.params.id) });
    await this.#o.chain.send(
      this.#sender(req).txAccount,
      { to: this.#o.adjudicator.hex, data },
      { label, ...(signal && { signal }) },
    );
  }
}

function signedOf(req: AdjudicatorReq): SignedState {
  const s = req.tx.state;
  if (!s) throw new ValidationError("request has no state");
  // the contract checks count and validity; a missing slot cannot even be encoded
  if (req.tx.sigs.some((x) => x === undefined)) throw new ValidationError("a signature slot is empty");
  return { params: req.params, state: s, sigs: req.tx.sigs as Uint8Array[] };
}

function signedOrPartial(req: AdjudicatorReq): { state: State; sigs: Uint8Array[] | undefined } {
  const s = req.tx.state;
  if (!s) throw new ValidationError("request has no state");
  const full = req.tx.sigs.length === req.params.parts.length && req.tx.sigs.every((x) => x !== undefined);
  return { state: s, sigs: full ? (req.tx.sigs as Uint8Array[]) : undefined };
}

function ethSigned(s: SignedState) {
  return { params: toEthParams(s.params), state: toEthState(s.state), sigs: s.sigs.map(bytesToHex0x) };
}

/** Descendants' states in DFS pre-order following `locked`; throws `ValidationError` if one is missing. */
export function dfsSubStates(root: State, subStates: ReadonlyMap<string, State>): State[] {
  const out: State[] = [];
  const visit = (s: State, depth: number) => {
    if (depth > 64) throw new ValidationError("sub-channel tree too deep");
    for (const l of s.allocation.locked) {
      const sub = subStates.get(channelIdHex(l.id));
      if (!sub) throw new ValidationError(`missing state of sub-channel ${channelIdHex(l.id)}`);
      out.push(sub);
      visit(sub, depth + 1);
    }
  };
  visit(root, 0);
  return out;
}

// An empty index map is encoded as the identity of the parent's size (see toEthState); that is
// only right if the sub-channel has exactly as many participants as the parent.
function checkIndexMaps(root: SignedState, subs: readonly SignedState[]): void {
  const byId = new Map(subs.map((s) => [channelIdHex(s.params.id), s.params] as const));
  const check = (parent: State, parentParams: Params) => {
    for (const l of parent.allocation.locked) {
      const sp = byId.get(channelIdHex(l.id));
      if (sp && l.indexMap.length === 0 && sp.parts.length !== parentParams.parts.length) {
        throw new ValidationError(
          `sub-channel ${channelIdHex(l.id)} has ${sp.parts.length} participants, the parent ${parentParams.parts.length}: an explicit index map is needed`,
        );
      }
    }
  };
  check(root.state, root.params);
  for (const s of subs) check(s.state, s.params);
}
