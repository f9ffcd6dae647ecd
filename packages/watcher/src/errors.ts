import { PerunError, UnknownChannelError } from "@perun-ts/core";

/** `startWatching…` was called for a channel that is already watched. */
export class AlreadyWatchingError extends PerunError {
  constructor(readonly channelId: string) {
    super(`already watching channel ${channelId}`, { details: { channelId } });
  }
}

/**
 * The channel (or, for `startWatchingSubChannel`, its parent) is not watched: never started, already
 * stopped, or its watch is still being set up.
 */
export class NotWatchingError extends UnknownChannelError {
  constructor(
    channelId: string,
    readonly role: "channel" | "parent" = "channel",
  ) {
    super(channelId);
    this.message =
      role === "parent"
        ? `parent channel ${channelId} is not watched`
        : `channel ${channelId} is not watched`;
  }
}

/** `stopWatching` was called for a channel whose sub-channels are still watched; stop them first. */
export class SubChannelsPresentError extends PerunError {
  constructor(
    readonly channelId: string,
    readonly children: readonly string[],
  ) {
    super(`channel ${channelId} still has watched sub-channels: ${children.join(", ")}`, {
      details: { channelId, children },
    });
  }
}

/** The watcher was closed; it accepts no new channels and no published states. */
export class WatcherClosedError extends PerunError {
  constructor() {
    super("watcher is closed");
  }
}
