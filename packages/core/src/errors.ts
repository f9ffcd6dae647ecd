/**
 * The error hierarchy. Every failure a caller may want to handle has its own class; all derive
 * from `PerunError`, which carries a short message, structured details and an optional cause.
 */

export class PerunError extends Error {
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, opts: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.details = opts.details ?? {};
  }
}

/** An invalid state transition (generic rule or app rule). `reason` says which rule failed. */
export class StateTransitionError extends PerunError {
  constructor(
    readonly channelId: string,
    readonly reason: string,
  ) {
    super(`invalid state transition in channel ${channelId}: ${reason}`, { details: { channelId, reason } });
  }
}

/** An invalid action of an action app. */
export class ActionError extends PerunError {
  constructor(
    readonly channelId: string,
    readonly reason: string,
  ) {
    super(`invalid action in channel ${channelId}: ${reason}`, { details: { channelId, reason } });
  }
}

/** An operation was called in a phase the transition table does not allow it from. */
export class PhaseTransitionError extends PerunError {
  constructor(
    readonly channelId: string,
    readonly operation: string,
    readonly current: string,
    readonly expected: string,
  ) {
    super(`${operation} not allowed in phase ${current} of channel ${channelId} (expected ${expected})`, {
      details: { channelId, operation, current, expected },
    });
  }
}

/** Malformed or hostile input (parameters, allocations, states) rejected by validation. */
export class ValidationError extends PerunError {
  constructor(
    readonly reason: string,
    opts: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(reason, opts);
  }
}

/** A byte string could not be decoded; `reason` says why. Decoders throw nothing else. */
export class DecodeError extends PerunError {
  constructor(
    readonly reason: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`decode failed: ${reason}`, { details: { reason }, ...opts });
  }
}

/** A signature was malformed (wrong length, not a curve point, …) — not merely from another signer. */
export class SignatureError extends PerunError {}

/**
 * A signature offered for a channel state was rejected: malformed, from another signer or over
 * another state, for an out-of-range or already filled slot. `reason` says which.
 */
export class InvalidSignatureError extends PerunError {
  constructor(
    readonly channelId: string,
    readonly idx: number,
    readonly reason: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`signature of participant ${idx} rejected in channel ${channelId}: ${reason}`, {
      details: { channelId, idx, reason },
      ...opts,
    });
  }
}

/** Funding of one asset timed out; the listed participants did not deposit. */
export class AssetFundingError extends PerunError {
  constructor(
    readonly assetIndex: number,
    readonly timedOutPeers: readonly number[],
  ) {
    super(`asset ${assetIndex}: participants ${timedOutPeers.join(", ")} did not fund in time`, {
      details: { assetIndex, timedOutPeers },
    });
  }
}

/** Funding timed out for one or more assets. */
export class FundingTimeoutError extends PerunError {
  constructor(readonly errors: readonly AssetFundingError[]) {
    super(`funding timed out: ${errors.map((e) => e.message).join("; ")}`, {
      details: { assets: errors.map((e) => e.assetIndex) },
    });
  }
}

/** A channel could not be funded; the channel is still usable for dispute/settle to recover deposits. */
export class ChannelFundingError extends PerunError {}

/** The peer answered with a rejection. */
export class PeerRejectedError extends PerunError {
  constructor(
    readonly itemType: string,
    readonly reason: string,
  ) {
    super(`peer rejected ${itemType}: ${reason}`, { details: { itemType, reason } });
  }
}

/** Waiting for a peer's response was aborted or timed out. */
export class RequestTimedOutError extends PerunError {}

/** A transaction was not mined in time (it may still be mined later). */
export class TxTimedOutError extends PerunError {
  constructor(
    readonly txType: string,
    readonly txId: string,
  ) {
    super(`transaction ${txType} ${txId} timed out`, { details: { txType, txId } });
  }
}

/** The backend cannot reach its chain. */
export class ChainNotReachableError extends PerunError {}

/** An operation was aborted through its `AbortSignal`. */
export class AbortError extends PerunError {
  constructor(reason?: unknown) {
    super(
      typeof reason === "string"
        ? `aborted: ${reason}`
        : reason instanceof Error
          ? `aborted: ${reason.message}`
          : "aborted",
      reason === undefined ? {} : { cause: reason },
    );
  }
}

/** A persister was asked about a channel it does not know. */
export class UnknownChannelError extends PerunError {
  constructor(readonly channelId: string) {
    super(`unknown channel ${channelId}`, { details: { channelId } });
  }
}

/** A wallet holds no account for the address. */
export class UnknownAccountError extends PerunError {
  constructor(readonly address: string) {
    super(`wallet has no account for ${address}`, { details: { address } });
  }
}

/** `decrementUsage` was called more often than `incrementUsage` for an address. */
export class UsageCountError extends PerunError {
  constructor(readonly address: string) {
    super(`usage count of ${address} would drop below zero`, { details: { address } });
  }
}
