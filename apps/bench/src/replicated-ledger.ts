import { SimLedger, type SimLedgerOptions } from "@perun-ts/backend-sim";
import type { Address, Asset, ChannelBackend } from "@perun-ts/core";

/** A deposit as it travels between node processes (structured-clone friendly). */
export interface DepositRecord {
  readonly asset: Uint8Array;
  readonly fundingId: Uint8Array;
  readonly amount: bigint;
  readonly from: Uint8Array;
}

/**
 * A `SimLedger` replica for one node process: every local deposit is also handed to `send`, and
 * `applyRemote` replays the deposits of the other processes, so that each process's funder sees
 * all participants' deposits. Only deposits are replicated; that is all that opening a channel
 * needs (disputes are not benchmarked across processes).
 */
export class ReplicatedSimLedger extends SimLedger {
  readonly #send: (d: DepositRecord) => void;
  readonly #backend: ChannelBackend;

  constructor(opts: SimLedgerOptions & { readonly send: (d: DepositRecord) => void }) {
    super(opts);
    this.#send = opts.send;
    this.#backend = opts.backend;
  }

  override deposit(asset: Asset, fundingId: Uint8Array, amount: bigint, from: Address): void {
    super.deposit(asset, fundingId, amount, from);
    this.#send({ asset: asset.bytes(), fundingId: fundingId.slice(), amount, from: from.bytes() });
  }

  /** Replays a deposit made in another process (minting the depositor's funds here first). */
  applyRemote(d: DepositRecord): void {
    const asset = this.#backend.decodeAsset(d.asset);
    const from = this.#backend.decodeAddress(d.from);
    this.mint(from, asset, d.amount);
    super.deposit(asset, d.fundingId, d.amount, from);
  }
}
