import type { AdjudicatorEvent, AdjudicatorSubscription } from "@perun-ts/core";

/**
 * One subscriber's stream of a channel's ledger events. Events are queued (none is dropped) until the
 * consumer pulls them; `close()` (or leaving a `for await` loop) ends the stream, resolves pending
 * `next()` calls with `done` and detaches it from the ledger.
 */
export class SimLedgerSubscription implements AdjudicatorSubscription {
  readonly #queue: AdjudicatorEvent[] = [];
  readonly #pulls: ((r: IteratorResult<AdjudicatorEvent>) => void)[] = [];
  readonly #onClose: () => void;
  #closed = false;

  /** @internal Created by `SimLedger.subscribe`. */
  constructor(first: AdjudicatorEvent | undefined, onClose: () => void) {
    if (first) this.#queue.push(first);
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** @internal Delivers a new event (ignored once closed). */
  push(e: AdjudicatorEvent): void {
    if (this.#closed) return;
    const pull = this.#pulls.shift();
    if (pull) pull({ value: e, done: false });
    else this.#queue.push(e);
  }

  /** The next event; waits for one; `done` once closed. */
  next(): Promise<IteratorResult<AdjudicatorEvent>> {
    const e = this.#queue.shift();
    if (e) return Promise.resolve({ value: e, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#pulls.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    for (const pull of this.#pulls.splice(0)) pull({ value: undefined, done: true });
    this.#onClose();
  }

  [Symbol.asyncIterator](): AsyncIterator<AdjudicatorEvent> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
