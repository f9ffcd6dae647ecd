import type { Address } from "@perun-ts/core";
import {
  type Bus,
  type Consumer,
  type Envelope,
  type PublishOptions,
  putTo,
  type Unsubscribe,
} from "@perun-ts/wire";

/** Which directions of a party's connection are cut (see `ObservedBus.cut`). */
export type ConnectionCut = "none" | "inbound" | "both";

/**
 * A bus wrapper that shows a test every envelope its party receives (permanent taps and one-shot
 * waits) and delivers them unchanged, and that can drop its party's connection for a while
 * (`cut`): dropped envelopes are lost on the way, as on a connection that broke and was re-dialled.
 */
export class ObservedBus implements Bus {
  readonly #inner: Bus;
  readonly #taps = new Set<(env: Envelope) => void>();
  readonly #dropListeners = new Set<(env: Envelope) => void>();
  #cut: ConnectionCut = "none";
  /** Envelopes lost while the connection was cut (both directions). */
  dropped = 0;

  constructor(inner: Bus) {
    this.#inner = inner;
  }

  /**
   * Cuts the connection: `"inbound"` loses every envelope sent to the party, `"both"` also loses
   * what it sends (its publish still resolves: the loss shows only as a missing answer, as on a
   * TCP connection that died after the write); `"none"` restores it.
   */
  cut(cut: ConnectionCut): void {
    this.#cut = cut;
  }

  /** Calls `fn` with every envelope lost to a cut; returns a function that removes it. */
  onDrop(fn: (env: Envelope) => void): () => void {
    this.#dropListeners.add(fn);
    return () => this.#dropListeners.delete(fn);
  }

  #drop(env: Envelope): void {
    this.dropped++;
    for (const l of [...this.#dropListeners]) l(env);
  }

  publish(envelope: Envelope, opts?: PublishOptions): Promise<void> {
    if (this.#cut === "both") {
      this.#drop(envelope);
      return Promise.resolve();
    }
    return this.#inner.publish(envelope, opts);
  }

  subscribe(address: Address, consumer: Consumer): Unsubscribe {
    return this.#inner.subscribe(address, (env) => {
      if (this.#cut !== "none") {
        this.#drop(env);
        return;
      }
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
