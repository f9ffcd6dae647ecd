/**
 * An unbounded single-consumer queue read as an async iterable: values are kept (never dropped)
 * until pulled; `close()` (or leaving a `for await` loop) ends it, resolves pending pulls with
 * `done` and calls `onClose` once. Adjudicator subscriptions are built on it.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #queue: T[] = [];
  readonly #pulls: ((r: IteratorResult<T>) => void)[] = [];
  readonly #onClose: (() => void) | undefined;
  #closed = false;

  constructor(onClose?: () => void) {
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Delivers a value (ignored once closed). */
  push(value: T): void {
    if (this.#closed) return;
    const pull = this.#pulls.shift();
    if (pull) pull({ value, done: false });
    else this.#queue.push(value);
  }

  /** The next value; waits for one; `done` once closed. */
  next(): Promise<IteratorResult<T>> {
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift() as T, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#pulls.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    for (const pull of this.#pulls.splice(0)) pull({ value: undefined, done: true });
    this.#onClose?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
