import type { Envelope } from "./envelope.js";

/** Selects envelopes. */
export type Predicate = (envelope: Envelope) => boolean;

/** Default number of envelopes a {@link Cache} holds. */
export const DEFAULT_CACHE_CAPACITY = 1024;

/**
 * Holds envelopes that match at least one registered predicate until someone extracts them
 * (spec §5.3), e.g. an update that arrives before its channel is known. Bounded: when full, `put`
 * refuses and returns false (the caller logs the drop).
 */
export class Cache {
  readonly #capacity: number;
  readonly #predicates = new Map<Predicate, number>();
  #messages: Envelope[] = [];

  constructor(capacity: number = DEFAULT_CACHE_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.#capacity = capacity;
  }

  /** Starts caching envelopes matching `predicate`; returns a function that releases it again. */
  cache(predicate: Predicate): () => void {
    this.#predicates.set(predicate, (this.#predicates.get(predicate) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(predicate);
    };
  }

  /** Stops caching for one registration of `predicate` (cached envelopes stay). */
  release(predicate: Predicate): void {
    const n = this.#predicates.get(predicate);
    if (n === undefined) return;
    if (n <= 1) this.#predicates.delete(predicate);
    else this.#predicates.set(predicate, n - 1);
  }

  /** True if an active predicate matches `envelope`. */
  wants(envelope: Envelope): boolean {
    for (const p of this.#predicates.keys()) if (p(envelope)) return true;
    return false;
  }

  /** Stores `envelope` once if an active predicate matches and there is room; returns whether it was stored. */
  put(envelope: Envelope): boolean {
    if (this.#messages.length >= this.#capacity || !this.wants(envelope)) return false;
    this.#messages.push(envelope);
    return true;
  }

  /** Removes and returns the cached envelopes matching `predicate`, in arrival order. */
  messages(predicate: Predicate): Envelope[] {
    const taken: Envelope[] = [];
    const kept: Envelope[] = [];
    for (const e of this.#messages) (predicate(e) ? taken : kept).push(e);
    this.#messages = kept;
    return taken;
  }

  /** Drops every cached envelope. */
  flush(): void {
    this.#messages = [];
  }

  get size(): number {
    return this.#messages.length;
  }
}
