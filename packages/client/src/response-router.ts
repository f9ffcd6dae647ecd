import { abortable, Deferred } from "@perun-ts/core";
import type { ChannelUpdateAccMessage, ChannelUpdateRejMessage } from "@perun-ts/wire";

/** The answer to a channel update (or to the version-0 signature exchange). */
export type UpdateResponse = ChannelUpdateAccMessage | ChannelUpdateRejMessage;

/**
 * At least this many early responses are kept for channels that are still being opened; more
 * while more openings run (the `capacity` the client gives: a few per opening in flight).
 */
const MIN_CACHED = 128;

function keyOf(idHex: string, version: bigint): string {
  return `${idHex}:${version}`;
}

/**
 * Routes `ChannelUpdateAcc`/`ChannelUpdateRej` to whoever waits for that channel and version
 * (spec §4.0 per-version routing). A response nobody waits for is kept only if `shouldCache`
 * says so — used for the version-0 signature of a channel whose opening has not yet reached the
 * point where it waits (the peer may be faster) — and otherwise dropped.
 */
export class ResponseRouter {
  readonly #waiters = new Map<string, Deferred<UpdateResponse>>();
  readonly #cache = new Map<string, UpdateResponse>();

  #dropped = 0;

  /**
   * @param shouldCache which unawaited responses to keep (version 0 of channels being opened).
   * @param capacity how many may be kept now (at least 128); bounds what a peer can make us hold.
   */
  constructor(
    readonly shouldCache: (idHex: string, version: bigint) => boolean,
    readonly capacity: () => number = () => MIN_CACHED,
  ) {}

  /**
   * Registers interest in the response to `version` of channel `idHex`. Register before sending
   * the request. `cancel` must be called when the caller stops waiting.
   */
  expect(
    idHex: string,
    version: bigint,
  ): { wait(signal?: AbortSignal): Promise<UpdateResponse>; cancel(): void } {
    const key = keyOf(idHex, version);
    const d = new Deferred<UpdateResponse>();
    const cached = this.#cache.get(key);
    if (cached) {
      this.#cache.delete(key);
      d.resolve(cached);
    } else {
      this.#waiters.set(key, d);
    }
    return {
      wait: (signal) => abortable(d.promise, signal),
      cancel: () => {
        if (this.#waiters.get(key) === d) this.#waiters.delete(key);
      },
    };
  }

  /**
   * Hands `msg` to its waiter; returns false if it was neither awaited nor cached (`droppedCount`
   * counts those that should have been cached but found the cache full).
   */
  deliver(idHex: string, msg: UpdateResponse): boolean {
    const key = keyOf(idHex, msg.version);
    const d = this.#waiters.get(key);
    if (d) {
      this.#waiters.delete(key);
      d.resolve(msg);
      return true;
    }
    if (!this.shouldCache(idHex, msg.version) || this.#cache.has(key)) return false;
    if (this.#cache.size >= Math.max(MIN_CACHED, this.capacity())) {
      this.#dropped++;
      return false;
    }
    this.#cache.set(key, msg);
    return true;
  }

  /** Drops cached responses that `shouldCache` no longer covers. */
  prune(): void {
    for (const [key, msg] of this.#cache) {
      const idHex = key.slice(0, key.lastIndexOf(":"));
      if (!this.shouldCache(idHex, msg.version)) this.#cache.delete(key);
    }
  }

  /** Early responses dropped because the cache was full (the caller logs each at warn). */
  get droppedCount(): number {
    return this.#dropped;
  }

  /** Number of cached responses (for tests). */
  get cachedCount(): number {
    return this.#cache.size;
  }
}
