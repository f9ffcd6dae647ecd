import type { Address } from "@perun-ts/core";
import type { Bus, Consumer, Envelope, PublishOptions, Unsubscribe } from "@perun-ts/wire";

/** What a party sees when it publishes while its network is cut. */
export class NetworkDownError extends Error {
  constructor() {
    super("the network of this party is down");
    this.name = "NetworkDownError";
  }
}

/**
 * A bus wrapper that can take its party offline: while offline, publishing fails with
 * `NetworkDownError` and received envelopes are lost (counted in `dropped`), as for a host whose
 * network is cut. The party's process (client, watcher, chain access) keeps running.
 */
export class GateBus implements Bus {
  readonly #inner: Bus;
  readonly #taps = new Set<(env: Envelope) => void>();
  #online = true;
  /** Envelopes lost while offline. */
  dropped = 0;

  constructor(inner: Bus) {
    this.#inner = inner;
  }

  get online(): boolean {
    return this.#online;
  }

  /** Cuts (`false`) or restores (`true`) the party's network. */
  setOnline(online: boolean): void {
    this.#online = online;
  }

  publish(envelope: Envelope, opts?: PublishOptions): Promise<void> {
    if (!this.#online) return Promise.reject(new NetworkDownError());
    return this.#inner.publish(envelope, opts);
  }

  subscribe(address: Address, consumer: Consumer): Unsubscribe {
    return this.#inner.subscribe(address, (env) => {
      if (!this.#online) {
        this.dropped++;
        return;
      }
      for (const t of this.#taps) t(env);
      return typeof consumer === "function" ? consumer(env) : consumer.put(env);
    });
  }

  /** Resolves with the first envelope received (online) that matches `pred`. */
  next(pred: (env: Envelope) => boolean, signal: AbortSignal): Promise<Envelope> {
    return new Promise<Envelope>((resolve, reject) => {
      const tap = (env: Envelope) => {
        if (!pred(env)) return;
        this.#taps.delete(tap);
        resolve(env);
      };
      this.#taps.add(tap);
      signal.addEventListener(
        "abort",
        () => {
          this.#taps.delete(tap);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
