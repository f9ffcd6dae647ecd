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

/**
 * `startAnvil()` found no anvil binary: the optional peer dependency `@foundry-rs/anvil` (with its
 * platform package) is not installed. Install it (`pnpm add -D @foundry-rs/anvil`) or pass `binary`.
 */
export class AnvilNotInstalledError extends PerunError {
  readonly packageName = "@foundry-rs/anvil";

  constructor(opts: { cause?: unknown } = {}) {
    super(
      "the anvil binary was not found: install the optional peer dependency @foundry-rs/anvil (e.g. `pnpm add -D @foundry-rs/anvil`) or pass `binary` to startAnvil()",
      { details: { package: "@foundry-rs/anvil" }, cause: opts.cause },
    );
  }
}
