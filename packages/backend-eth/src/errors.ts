import { PerunError } from "@perun-ts/core";

/**
 * A transaction was rejected by the chain: it reverted on chain, or its simulation (gas
 * estimation) reverted before sending. `reason` is the decoded `Error(string)` revert reason, if any.
 */
export class TxFailedError extends PerunError {
  constructor(
    readonly txType: string,
    readonly reason: string | undefined,
    opts: { txHash?: string; cause?: unknown } = {},
  ) {
    super(`transaction ${txType} failed${reason === undefined ? "" : `: ${reason}`}`, {
      details: { txType, reason, txHash: opts.txHash },
      cause: opts.cause,
    });
  }
}

/** Data read from the chain (calldata, logs) did not have the expected form. */
export class ChainDataError extends PerunError {}
