/**
 * Errors raised by the client on top of core's error classes. Everything derives from
 * `PerunError`, so `err instanceof PerunError` catches all of them.
 */
import { ChannelFundingError, PerunError } from "@perun-ts/core";
import type { Channel } from "./channel.js";

/** A proposal or update responder was used a second time (each must be answered exactly once). */
export class ResponderUsedError extends PerunError {
  constructor(readonly item: "proposal" | "update") {
    super(`the ${item} responder was already used (accept/reject may be called exactly once)`, {
      details: { item },
    });
  }
}

/**
 * A local update lost against a concurrent update of the peer (same version, proposed at the same
 * time). The participant with the lower index wins; the loser's update fails with this error and
 * the winner's update is processed normally, so both sides stay on the same state.
 */
export class UpdateConflictError extends PerunError {
  constructor(
    readonly channelId: string,
    readonly version: bigint,
  ) {
    super(`update to version ${version} of channel ${channelId} lost against a concurrent peer update`, {
      details: { channelId, version },
    });
  }
}

/**
 * Funding of a freshly opened channel failed. The channel exists (phase Funding) and is returned
 * in `channel`, so its deposits can be recovered by `channel.settle()` (a dispute).
 */
export class ChannelNotFundedError extends ChannelFundingError {
  constructor(
    readonly channel: Channel,
    cause: unknown,
  ) {
    super(
      `funding of channel ${channel.idHex} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause, details: { channelId: channel.idHex } },
    );
  }
}

/** The client or channel was closed; no further operations are possible. */
export class ClosedError extends PerunError {
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

/**
 * A channel sync message (spec §4.9) was unusable: wrong channel, not from the channel's peer,
 * malformed, or carrying a signature that does not verify. The channel's state did not change.
 */
export class SyncError extends PerunError {
  constructor(
    readonly channelId: string,
    readonly reason: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`channel sync of ${channelId} failed: ${reason}`, { ...opts, details: { channelId, reason } });
  }
}

/**
 * The peer's sync carries a fully signed state at the same version as ours but with a different
 * content (or a state we cannot reconcile). The channel keeps its own state; the conflict needs a
 * dispute to resolve (both states are signed by both parties).
 */
export class SyncConflictError extends SyncError {
  constructor(
    channelId: string,
    readonly ownVersion: bigint,
    readonly peerVersion: bigint,
    reason: string,
  ) {
    super(channelId, reason);
  }
}
