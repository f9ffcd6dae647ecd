import { PerunError } from "@perun-ts/core";

/**
 * A ledger operation violated an on-chain rule: the simulated transaction "reverted". `reason` is
 * the revert reason string of the Perun contracts (spec-eth §3, e.g. `"invalid version"`,
 * `"timeout not passed yet"`, `"insufficient funds"`), so tests and callers can match on it the same
 * way for the sim and the Ethereum backend. It is also in `details.reason`.
 */
export class LedgerRuleError extends PerunError {
  constructor(
    /** The ledger operation: `register`, `progress`, `conclude`, `concludeFinal`, `deposit`, `withdraw`. */
    readonly operation: string,
    /** The contract's revert reason. */
    readonly reason: string,
    opts: { channelId?: string; cause?: unknown } = {},
  ) {
    super(`${operation} reverted: ${reason}${opts.channelId ? ` (channel ${opts.channelId})` : ""}`, {
      details: { operation, reason, ...(opts.channelId ? { channelId: opts.channelId } : {}) },
      cause: opts.cause,
    });
  }
}
