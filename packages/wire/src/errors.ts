import { PerunError } from "@perun-ts/core";

/** A frame header announced a body larger than the configured maximum; nothing was allocated for it. */
export class FrameTooLargeError extends PerunError {
  constructor(
    readonly size: number,
    readonly maxFrameSize: number,
  ) {
    super(`frame of ${size} bytes exceeds the maximum of ${maxFrameSize} bytes`, {
      details: { size, maxFrameSize },
    });
  }
}

/**
 * A peer failed the wire handshake: it could not prove control of the address it claims, answered
 * for another address, replayed an old signature or broke the handshake protocol. `reason` says which.
 */
export class AuthenticationError extends PerunError {
  constructor(
    readonly reason: string,
    opts: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(`authentication failed: ${reason}`, { details: { reason, ...opts.details }, cause: opts.cause });
  }
}

/** The bus was closed; pending and later publishes fail with this error. */
export class BusClosedError extends PerunError {
  constructor() {
    super("bus closed");
  }
}

/** A peer could not be reached (unknown to the address book, refused, reset) after all attempts. */
export class PeerUnreachableError extends PerunError {
  constructor(
    readonly peer: string,
    readonly reason: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`peer ${peer} unreachable: ${reason}`, { details: { peer, reason }, ...opts });
  }
}

/** A receiver or relay was closed while (or before) waiting for an envelope. */
export class ReceiverClosedError extends PerunError {
  constructor() {
    super("receiver closed");
  }
}
