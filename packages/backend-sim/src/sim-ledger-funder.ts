import {
  AbortError,
  type Address,
  AssetFundingError,
  type CallOptions,
  channelIdEquals,
  type Funder,
  type FundingReq,
  FundingTimeoutError,
  ValidationError,
} from "@perun-ts/core";
import type { SimLedger } from "./sim-ledger.js";
import { LedgerRuleError } from "./sim-ledger-errors.js";

export interface SimFunderOptions {
  /**
   * The ledger account that pays the deposits. Default: the participant's own address
   * (`req.params.parts[req.idx]`). Deposits always go to the participant's funding id.
   */
  readonly depositor?: Address;
  /**
   * How long (ledger seconds from the call) to wait for the other participants' deposits.
   * Default: the channel's challenge duration (as go-perun).
   */
  readonly fundingTimeout?: bigint;
}

function validateRequest(req: FundingReq): void {
  const { params, state, idx, agreement } = req;
  const n = params.parts.length;
  if (!Number.isInteger(idx) || idx < 0 || idx >= n)
    throw new ValidationError(`participant index ${idx} out of range`);
  if (!channelIdEquals(params.id, state.id))
    throw new ValidationError("funding request: state is not of this channel");
  const assets = state.allocation.assets.length;
  if (agreement.length !== assets) {
    throw new ValidationError(`funding agreement has ${agreement.length} rows for ${assets} assets`);
  }
  agreement.forEach((row, a) => {
    if (row.length !== n)
      throw new ValidationError(`funding agreement row ${a} has ${row.length} entries for ${n} participants`);
    for (const v of row) {
      if (typeof v !== "bigint" || v < 0n)
        throw new ValidationError("funding agreement entries must be non-negative bigints");
    }
  });
}

/**
 * `Funder` view of a `SimLedger` for one client. `fund` tops the participant's holdings up to its
 * share of the agreement (so repeated calls never deposit twice), then waits until every
 * participant's share is in. If the deadline (ledger time) passes first it throws
 * `FundingTimeoutError` listing, per asset index, the participants that did not fund.
 */
export class SimFunder implements Funder {
  readonly #ledger: SimLedger;
  readonly #opts: SimFunderOptions;

  constructor(ledger: SimLedger, opts: SimFunderOptions = {}) {
    this.#ledger = ledger;
    this.#opts = opts;
  }

  async fund(req: FundingReq, opts: CallOptions = {}): Promise<void> {
    const { signal } = opts;
    if (signal?.aborted) throw new AbortError(signal.reason);
    validateRequest(req);
    const ledger = this.#ledger;
    const { params, state, idx, agreement } = req;
    const id = params.id;
    const assets = state.allocation.assets;
    const deadline = ledger.clock.now() + (this.#opts.fundingTimeout ?? params.challengeDuration);
    const me = params.parts[idx] as Address;
    const depositor = this.#opts.depositor ?? me;
    const myFid = ledger.fundingId(id, me);

    // Deposit the missing part of the own share for every asset; check all balances first so a
    // failure leaves nothing half-deposited.
    const topUps = assets.map((asset, a) => {
      const want = agreement[a]?.[idx] ?? 0n;
      const have = ledger.holdings(asset, myFid);
      return want > have ? want - have : 0n;
    });
    assets.forEach((asset, a) => {
      if (ledger.balanceOf(depositor, asset) < (topUps[a] as bigint)) {
        throw new LedgerRuleError("deposit", "insufficient balance");
      }
    });
    assets.forEach((asset, a) => {
      const amount = topUps[a] as bigint;
      if (amount > 0n) ledger.deposit(asset, myFid, amount, depositor);
    });

    const fids = params.parts.map((p) => ledger.fundingId(id, p));
    for (;;) {
      const missing: AssetFundingError[] = [];
      assets.forEach((asset, a) => {
        const peers: number[] = [];
        fids.forEach((fid, j) => {
          const want = agreement[a]?.[j] ?? 0n;
          if (want > 0n && ledger.holdings(asset, fid) < want) peers.push(j);
        });
        if (peers.length > 0) missing.push(new AssetFundingError(a, peers));
      });
      if (missing.length === 0) return;
      if (ledger.clock.now() >= deadline) throw new FundingTimeoutError(missing);
      await this.#nextDepositOrDeadline(deadline, signal);
    }
  }

  /** Resolves on the next deposit or at the deadline; rejects with `AbortError`; leaves nothing behind. */
  #nextDepositOrDeadline(deadline: bigint, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    const inner = new AbortController();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        inner.abort();
        removeDeposit();
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        done();
        reject(new AbortError(signal?.reason));
      };
      const removeDeposit = this.#ledger.onDeposit(() => {
        done();
        resolve();
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#ledger.clock.waitUntil(deadline, { signal: inner.signal }).then(
        () => {
          done();
          resolve();
        },
        () => {
          // only rejects when `done` already settled this promise
        },
      );
    });
  }
}
