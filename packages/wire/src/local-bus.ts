import {
  AbortError,
  type Address,
  addressKey,
  type Logger,
  silentLogger,
  ValidationError,
} from "@perun-ts/core";
import { type Bus, type Consumer, type PublishOptions, putTo, type Unsubscribe } from "./bus.js";
import type { Envelope } from "./envelope.js";
import type { EnvelopeCodec } from "./envelope-codec.js";
import { BusClosedError } from "./errors.js";
import { messageTypeName } from "./messages.js";

/** Options of {@link LocalBus}. */
export interface LocalBusOptions {
  /**
   * Round-trips every envelope through this codec (encode on publish, decode on delivery), so that
   * in-process tests exercise the wire format. The consumer receives the decoded copy.
   */
  readonly codec?: EnvelopeCodec;
  readonly logger?: Logger;
}

interface Subscription {
  readonly consumer: Consumer;
  /** Deliveries to this consumer run one after another, in publish order. */
  tail: Promise<void>;
}

interface Waiter {
  resolve(sub: Subscription): void;
  reject(err: unknown): void;
}

/**
 * An in-process bus (spec §5.3). `publish` waits until the recipient has a subscriber (or the
 * signal aborts), then hands the envelope to it and resolves once the consumer's `put` settled.
 * Envelopes published before the subscription are therefore delivered when it appears, in order.
 * A consumer's own error is logged, not reported to the publisher.
 */
export class LocalBus implements Bus {
  readonly #subs = new Map<string, Subscription>();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #codec: EnvelopeCodec | undefined;
  readonly #logger: Logger;
  #closed = false;

  constructor(opts: LocalBusOptions = {}) {
    this.#codec = opts.codec;
    this.#logger = opts.logger ?? silentLogger;
  }

  subscribe(address: Address, consumer: Consumer): Unsubscribe {
    if (this.#closed) throw new BusClosedError();
    const key = addressKey(address);
    if (this.#subs.has(key))
      throw new ValidationError(`address ${address.toString()} already has a subscriber`);
    const sub: Subscription = { consumer, tail: Promise.resolve() };
    this.#subs.set(key, sub);
    const waiters = this.#waiters.get(key);
    if (waiters) {
      this.#waiters.delete(key);
      for (const w of waiters) w.resolve(sub);
    }
    return () => {
      if (this.#subs.get(key) === sub) this.#subs.delete(key);
    };
  }

  async publish(envelope: Envelope, opts: PublishOptions = {}): Promise<void> {
    const { signal } = opts;
    if (this.#closed) throw new BusClosedError();
    if (signal?.aborted) throw new AbortError(signal.reason);
    const frame = this.#codec?.encode(envelope);
    const key = addressKey(envelope.recipient);
    const sub = this.#subs.get(key) ?? (await this.#waitForSubscriber(key, signal));
    let codecFailure: unknown;
    const delivered = sub.tail.then(() => {
      if (signal?.aborted || this.#closed) return;
      let copy = envelope;
      if (frame !== undefined) {
        try {
          copy = (this.#codec as EnvelopeCodec).decodeFrame(frame);
        } catch (err) {
          codecFailure = err;
          return;
        }
      }
      return putTo(sub.consumer, copy);
    });
    sub.tail = delivered.catch((err: unknown) => {
      this.#logger.warn("consumer failed", {
        message: messageTypeName(envelope.message),
        error: String(err),
      });
    });
    await sub.tail;
    if (codecFailure !== undefined) throw codecFailure;
    if (this.#closed) throw new BusClosedError();
    if (signal?.aborted) throw new AbortError(signal.reason);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const err = new BusClosedError();
    for (const ws of this.#waiters.values()) for (const w of ws) w.reject(err);
    this.#waiters.clear();
    this.#subs.clear();
  }

  #waitForSubscriber(key: string, signal: AbortSignal | undefined): Promise<Subscription> {
    return new Promise<Subscription>((resolve, reject) => {
      const list = this.#waiters.get(key) ?? [];
      const onAbort = () => {
        const current = this.#waiters.get(key);
        if (current) {
          const i = current.indexOf(waiter);
          if (i >= 0) current.splice(i, 1);
          if (current.length === 0) this.#waiters.delete(key);
        }
        reject(new AbortError(signal?.reason));
      };
      const waiter: Waiter = {
        resolve: (sub) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(sub);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      list.push(waiter);
      this.#waiters.set(key, list);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
