import type { Logger } from "@perun-ts/core";

/** Describes an item in log entries (so a dropped item is identifiable). */
export type Describe<T extends object> = (item: T) => Readonly<Record<string, unknown>>;

/**
 * A bounded, single-consumer queue exposed as an `AsyncIterable`.
 *
 * `push` never blocks the producer (the watcher must keep reading the chain while the client is
 * slow). When `capacity` items are waiting, the oldest waiting item is discarded to make room, the
 * discard is logged at `warn` and counted in `dropped` — never silent. Adjudicator events supersede
 * each other (a newer event describes the newer on-chain phase), so keeping the newest is the safe
 * choice. `close()` lets the consumer drain what is buffered and then ends the iteration;
 * `close(error)` makes the iteration throw `error` after the buffered items.
 */
export class EventRelay<T extends object> implements AsyncIterable<T> {
  readonly #capacity: number;
  readonly #logger: Logger;
  readonly #describe: Describe<T>;
  #buffer: T[] = [];
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #closed = false;
  #error: { value: unknown } | undefined;
  #consumerGone = false;
  #iterating = false;
  #dropped = 0;

  constructor(capacity: number, logger: Logger, describe: Describe<T>) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.#capacity = capacity;
    this.#logger = logger;
    this.#describe = describe;
  }

  /** Items discarded because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Hands `item` to the consumer (or buffers it). Ignored after `close` or after the consumer left. */
  push(item: T): void {
    if (this.#closed || this.#consumerGone) {
      this.#logger.debug("event not relayed: nobody listens any more", { ...this.#describe(item) });
      return;
    }
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    if (this.#buffer.length >= this.#capacity) {
      const old = this.#buffer.shift() as T;
      this.#dropped++;
      this.#logger.warn("event consumer too slow: dropped the oldest undelivered event", {
        ...this.#describe(old),
        capacity: this.#capacity,
        droppedSoFar: this.#dropped,
      });
    }
    this.#buffer.push(item);
  }

  /** Ends the iteration once the buffered items are consumed; with `error`, the iteration then throws it. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) this.#error = { value: error };
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      this.#settleEnd(waiter);
    }
  }

  #settleEnd(waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }): void {
    const error = this.#error;
    if (error) {
      this.#error = undefined;
      waiter.reject(error.value);
    } else {
      waiter.resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating)
      throw new Error("the event stream has a single consumer and is already being iterated");
    this.#iterating = true;
    return {
      next: () => {
        const item = this.#buffer.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.#closed || this.#consumerGone) {
          return new Promise<IteratorResult<T>>((resolve, reject) => this.#settleEnd({ resolve, reject }));
        }
        if (this.#waiter)
          return Promise.reject(new Error("next() called again before the previous call settled"));
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          this.#waiter = { resolve, reject };
        });
      },
      return: () => {
        this.#consumerGone = true;
        this.#buffer = [];
        this.#error = undefined;
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter?.resolve({ value: undefined, done: true });
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
