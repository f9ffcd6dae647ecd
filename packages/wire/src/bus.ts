import type { Address } from "@perun-ts/core";
import type { Envelope } from "./envelope.js";

/**
 * Receives envelopes. `put` may return a promise to apply back-pressure: the bus hands over the
 * next envelope for this consumer only after it settled. A function is accepted as a consumer too.
 */
export interface ConsumerObject {
  put(envelope: Envelope): void | Promise<void>;
}

/** A consumer: an object with `put` or a plain function. */
export type Consumer = ConsumerObject | ((envelope: Envelope) => void | Promise<void>);

/** Removes a subscription; calling it again does nothing. */
export type Unsubscribe = () => void;

/** Options of {@link Publisher.publish}. */
export interface PublishOptions {
  /** Aborts waiting (for a subscriber, a connection, a retry, a full socket buffer). */
  readonly signal?: AbortSignal;
}

/** Sends envelopes to their recipients. */
export interface Publisher {
  /**
   * Resolves when the envelope was handed to the transport (LocalBus: to the recipient's consumer;
   * NetBus: written to the peer's socket). There is no end-to-end acknowledgement.
   * Rejects with `AbortError` on abort and `BusClosedError` once the bus is closed.
   */
  publish(envelope: Envelope, opts?: PublishOptions): Promise<void>;
}

/**
 * A message bus (spec §5.3): publishes envelopes and routes every envelope whose recipient equals a
 * subscribed address to that address's consumer. One subscription per address.
 */
export interface Bus extends Publisher {
  /**
   * Delivers every envelope addressed to `address` to `consumer`, in arrival order per sender.
   * Throws `ValidationError` if `address` already has a subscriber (or the bus cannot serve it).
   */
  subscribe(address: Address, consumer: Consumer): Unsubscribe;
  /** Stops the bus; pending publishes reject with `BusClosedError`. Idempotent. */
  close(): Promise<void>;
}

/** Calls a consumer, whichever form it has. */
export function putTo(consumer: Consumer, envelope: Envelope): void | Promise<void> {
  return typeof consumer === "function" ? consumer(envelope) : consumer.put(envelope);
}
