import { assetHolderAbi } from "@perun-ts/contracts";
import {
  type Address,
  AssetFundingError,
  type CallOptions,
  type Funder,
  type FundingReq,
  FundingTimeoutError,
  type Logger,
  ValidationError,
  type Wallet,
} from "@perun-ts/core";
import type { Hex } from "viem";
import type { EthChain } from "./chain.js";
import type { Depositor } from "./depositor.js";
import { sendDeposit } from "./depositor.js";
import { bytesToHex0x, fundingIdOf } from "./encoding.js";
import type { EthAccount } from "./eth-account.js";
import { EthAsset } from "./eth-asset.js";

/** Funding of one asset timed out; names the asset holder and the participants' addresses. */
export class EthAssetFundingError extends AssetFundingError {
  constructor(
    assetIndex: number,
    timedOutPeers: readonly number[],
    readonly asset: EthAsset,
    readonly peerAddresses: readonly string[],
  ) {
    super(assetIndex, timedOutPeers);
    this.message = `asset ${assetIndex} (${asset.hex}): participants ${timedOutPeers
      .map((p, i) => `${p} (${peerAddresses[i]})`)
      .join(", ")} did not fund in time`;
  }
}

/** Options of an {@link EthFunder}. */
export interface EthFunderOptions {
  readonly chain: EthChain;
  /**
   * The on-chain account that pays the deposits (may differ from the off-chain participant key).
   * Without it, the participant's own account is unlocked from `wallet`.
   */
  readonly account?: EthAccount;
  /** Where the participant's account is found when no `account` is given. */
  readonly wallet?: Wallet;
  /** How each asset is deposited, by asset-holder address. */
  readonly depositors: readonly { readonly asset: EthAsset; readonly depositor: Depositor }[];
  /**
   * Seconds of chain time that peers get to fund, counted from the latest block when `fund` starts.
   * Default: the channel's challenge duration (as go-perun; often too short on real chains, #239).
   */
  readonly fundingTimeout?: bigint;
  readonly logger?: Logger;
}

/**
 * The Ethereum `Funder`: deposits the own share of every asset into the asset holders and waits,
 * in chain time, until every participant's `holdings` cover its agreed share.
 *
 * Idempotent: what `holdings(fundingId)` already shows (whatever block it was deposited in) is not
 * deposited again, and concurrent calls for the same channel share one deposit. Zero amounts send
 * nothing. On the deadline it throws `FundingTimeoutError` with one `EthAssetFundingError` per asset.
 */
export class EthFunder implements Funder {
  readonly #opts: EthFunderOptions;
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(opts: EthFunderOptions) {
    this.#opts = opts;
  }

  async fund(req: FundingReq, opts: CallOptions = {}): Promise<void> {
    const { chain } = this.#opts;
    const signal = opts.signal;
    const { params, state, idx, agreement } = req;
    const assets = state.allocation.assets.map((a) => EthAsset.from(a));
    if (agreement.length !== assets.length) throw new ValidationError("agreement needs one row per asset");
    if (idx < 0 || idx >= params.parts.length) throw new ValidationError("own index out of range");
    const fundingIds = params.parts.map((p) => bytesToHex0x(fundingIdOf(params.id, p)));
    const start = await chain.head();
    const deadline = start.timestamp + (this.#opts.fundingTimeout ?? params.challengeDuration);

    // own deposits, all assets in parallel (nonces are managed per account)
    await Promise.all(
      assets.map(async (asset, a) => {
        const amount = agreement[a]?.[idx] ?? 0n;
        if (amount <= 0n) return;
        const fid = fundingIds[idx] as Hex;
        const key = `${asset.hex}:${fid}`;
        let pending = this.#inFlight.get(key);
        if (!pending) {
          pending = this.#depositMissing(params.parts[idx] as Address, asset, fid, amount, signal).finally(
            () => this.#inFlight.delete(key),
          );
          this.#inFlight.set(key, pending);
        }
        await pending;
      }),
    );

    // wait until everybody's holdings cover the agreement, or the deadline passes
    for (;;) {
      const head = await chain.head();
      const block = chain.confirmedNumber(head);
      const missing: { a: number; peers: number[] }[] = [];
      await Promise.all(
        assets.map(async (asset, a) => {
          const peers: number[] = [];
          await Promise.all(
            params.parts.map(async (_, p) => {
              const want = agreement[a]?.[p] ?? 0n;
              if (want <= 0n) return;
              const have = await this.#holdings(asset, fundingIds[p] as Hex, block);
              if (have < want) peers.push(p);
            }),
          );
          if (peers.length > 0) missing.push({ a, peers: peers.sort((x, y) => x - y) });
        }),
      );
      if (missing.length === 0) return;
      if (head.timestamp >= deadline) {
        missing.sort((x, y) => x.a - y.a);
        throw new FundingTimeoutError(
          missing.map(
            ({ a, peers }) =>
              new EthAssetFundingError(
                a,
                peers,
                assets[a] as EthAsset,
                peers.map((p) => String(params.parts[p])),
              ),
          ),
        );
      }
      await chain.pause(signal);
    }
  }

  async #payer(participant: Address): Promise<EthAccount> {
    if (this.#opts.account) return this.#opts.account;
    if (!this.#opts.wallet) throw new ValidationError("EthFunder needs an account or a wallet");
    const acc = (await this.#opts.wallet.unlock(participant)) as Partial<EthAccount>;
    if (acc.txAccount === undefined)
      throw new ValidationError("the participant's account cannot send transactions");
    return acc as EthAccount;
  }

  async #depositMissing(
    participant: Address,
    asset: EthAsset,
    fid: Hex,
    amount: bigint,
    signal?: AbortSignal,
  ): Promise<void> {
    const { chain } = this.#opts;
    const entry = this.#opts.depositors.find((d) => d.asset.equals(asset));
    if (!entry) throw new ValidationError(`no depositor configured for asset ${asset.hex}`);
    // pending state: deposits already sent (also unconfirmed ones) count
    const held = await this.#holdings(asset, fid, "pending");
    if (held >= amount) {
      this.#opts.logger?.debug("already funded", { asset: asset.hex, fundingId: fid });
      return;
    }
    const account = await this.#payer(participant);
    await sendDeposit(chain, account.txAccount, entry.depositor, asset, fid, amount - held, signal);
  }

  #holdings(asset: EthAsset, fid: Hex, block: bigint | "pending"): Promise<bigint> {
    const { chain } = this.#opts;
    return chain.rpc("holdings", () =>
      chain.client.readContract({
        address: asset.hex,
        abi: assetHolderAbi,
        functionName: "holdings",
        args: [fid],
        ...(block === "pending"
          ? { blockTag: "pending" as const }
          : { blockNumber: block < 0n ? 0n : block }),
      }),
    );
  }
}
