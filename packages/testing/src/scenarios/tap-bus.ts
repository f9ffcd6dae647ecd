import type { Address } from "@perun-ts/core";
import {
  type Bus,
  type Consumer,
  type Envelope,
  type PublishOptions,
  putTo,
  type Unsubscribe,
} from "@perun-ts/wire";

/**
 * A bus wrapper that lets a scenario see every envelope its party receives (to observe answers to
 * hand-crafted messages) while delivering them unchanged.
 */
export class TapBus implements Bus {
  readonly #inner: Bus;
  readonly #taps = new Set<(env: Envelope) => void>();

  constructor(inner: Bus) {
    this.#inner = inner;
  }

  publish(envelope: Envelope, opts?: PublishOptions): Promise<void> {
    return this.#inner.publish(envelope, opts);
  }

  subscribe(address: Address, consumer: Consumer): Unsubscribe {
    return this.#inner.subscribe(address, (env) => {
      for (const t of this.#taps) t(env);
      return putTo(consumer, env);
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Resolves with the first received envelope matching `pred`. */
  next(pred: (env: Envelope) => boolean, signal?: AbortSignal): Promise<Envelope> {
    return new Promise<Envelope>((resolve, reject) => {
      const tap = (env: Envelope) => {
        if (!pred(env)) return;
        this.#taps.delete(tap);
        signal?.removeEventListener("abort", onAbort);
        resolve(env);
      };
      const onAbort = () => {
        this.#taps.delete(tap);
        reject(signal?.reason);
      };
      this.#taps.add(tap);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
