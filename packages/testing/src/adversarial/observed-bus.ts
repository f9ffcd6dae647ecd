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
 * A bus wrapper that shows a test every envelope its party receives (permanent taps and one-shot
 * waits) and delivers them unchanged.
 */
export class ObservedBus implements Bus {
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
      for (const t of [...this.#taps]) t(env);
      return putTo(consumer, env);
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Calls `fn` with every received envelope; returns a function that removes it. */
  tap(fn: (env: Envelope) => void): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  /**
   * Resolves with the first received envelope matching `pred` (registered now, so call it before
   * sending what provokes the answer); rejects when `signal` aborts.
   */
  next(pred: (env: Envelope) => boolean, signal: AbortSignal): Promise<Envelope> {
    return new Promise<Envelope>((resolve, reject) => {
      const onAbort = () => {
        this.#taps.delete(tap);
        reject(signal.reason);
      };
      const tap = (env: Envelope) => {
        if (!pred(env)) return;
        this.#taps.delete(tap);
        signal.removeEventListener("abort", onAbort);
        resolve(env);
      };
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      this.#taps.add(tap);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
