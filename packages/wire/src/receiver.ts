import { AbortError } from "@perun-ts/core";
import type { ConsumerObject } from "./bus.js";
import type { Envelope } from "./envelope.js";
import { ReceiverClosedError } from "./errors.js";

/** Default number of envelopes a {@link Receiver} holds before `put` waits. */
export const DEFAULT_RECEIVER_CAPACITY = 16;

interface Reader {
  resolve(env: Envelope): void;
  reject(err: unknown): void;
}

/**
 * A consumer with a bounded queue (spec §5.3): `next()` takes envelopes in arrival order; `put`
 * returns a promise that waits while the queue is full, which pushes back on the bus (and through
 * a NetBus on the peer's socket). After `close()` pending and later `next()` calls reject with
 * `ReceiverClosedError` and later envelopes are discarded.
 */
export class Receiver implements ConsumerObject, AsyncIterable<Envelope> {
  readonly #capacity: number;
  readonly #queue: Envelope[] = [];
  readonly #readers: Reader[] = [];
  readonly #writers: (() => void)[] = [];
  #closed = false;

  constructor(capacity: number = DEFAULT_RECEIVER_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.#capacity = capacity;
    this.put = this.put.bind(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Envelopes waiting to be taken. */
  get size(): number {
    return this.#queue.length;
  }

  put(envelope: Envelope): void | Promise<void> {
    if (this.#closed) return;
    const reader = this.#readers.shift();
    if (reader) {
      reader.resolve(envelope);
      return;
    }
    this.#queue.push(envelope);
    if (this.#queue.length <= this.#capacity) return;
    // Over capacity: the envelope is kept, but the producer waits until there is room again.
    return new Promise<void>((resolve) => this.#writers.push(resolve));
  }

  /** The next envelope; rejects with `AbortError` on abort and `ReceiverClosedError` once closed. */
  next(opts: { signal?: AbortSignal } = {}): Promise<Envelope> {
    const { signal } = opts;
    const env = this.#queue.shift();
    if (env !== undefined) {
      if (this.#queue.length <= this.#capacity) this.#writers.shift()?.();
      return Promise.resolve(env);
    }
    if (this.#closed) return Promise.reject(new ReceiverClosedError());
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    return new Promise<Envelope>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#readers.indexOf(reader);
        if (i >= 0) this.#readers.splice(i, 1);
        reject(new AbortError(signal?.reason));
      };
      const reader: Reader = {
        resolve: (e) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(e);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      this.#readers.push(reader);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Closes the receiver: readers reject, blocked producers are released, the queue is dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new ReceiverClosedError();
    for (const r of this.#readers.splice(0)) r.reject(err);
    for (const w of this.#writers.splice(0)) w();
    this.#queue.length = 0;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Envelope> {
    for (;;) {
      try {
        yield await this.next();
      } catch (err) {
        if (err instanceof ReceiverClosedError) return;
        throw err;
      }
    }
  }
}
