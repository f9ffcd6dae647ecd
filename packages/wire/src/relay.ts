import { type Logger, PerunError, silentLogger } from "@perun-ts/core";
import { type Consumer, type ConsumerObject, putTo, type Unsubscribe } from "./bus.js";
import { Cache, type Predicate } from "./cache.js";
import type { Envelope } from "./envelope.js";
import { ReceiverClosedError } from "./errors.js";
import { messageTypeName } from "./messages.js";

/** Options of {@link Relay}. */
export interface RelayOptions {
  /** Receives envelopes that no subscriber and no cache predicate wants; default: log and drop. */
  readonly defaultHandler?: (envelope: Envelope) => void;
  /** Capacity of the relay's cache. */
  readonly cacheCapacity?: number;
  readonly logger?: Logger;
}

interface RelaySubscription {
  readonly consumer: Consumer;
  readonly predicate: Predicate;
}

/**
 * A consumer that routes by predicate (spec §5.3): every subscriber whose predicate matches gets
 * the envelope (a message may go to several). If none matches, the envelope is kept in `cache` when
 * a cache predicate wants it, else it goes to the default handler. A new subscriber first receives
 * the cached envelopes its predicate matches. `put` waits for the matching consumers' `put`s, so
 * their back-pressure reaches the producer.
 */
export class Relay implements ConsumerObject {
  /** Envelopes nobody is subscribed to yet, for the predicates registered with `cache.cache`. */
  readonly cache: Cache;
  readonly #subs = new Set<RelaySubscription>();
  readonly #defaultHandler: (envelope: Envelope) => void;
  readonly #logger: Logger;
  #closed = false;

  constructor(opts: RelayOptions = {}) {
    this.cache = new Cache(opts.cacheCapacity);
    this.#logger = opts.logger ?? silentLogger;
    this.#defaultHandler =
      opts.defaultHandler ??
      ((e) =>
        this.#logger.warn("relay: no subscriber for envelope, dropped", {
          message: messageTypeName(e.message),
          sender: e.sender.toString(),
        }));
    this.put = this.put.bind(this);
  }

  /**
   * Routes envelopes matching `predicate` to `consumer`; cached matches are delivered first, in
   * order. Returns the unsubscribe function.
   */
  subscribe(predicate: Predicate, consumer: Consumer): Unsubscribe {
    if (this.#closed) throw new ReceiverClosedError();
    const sub: RelaySubscription = { consumer, predicate };
    this.#subs.add(sub);
    const cached = this.cache.messages(predicate);
    if (cached.length > 0) void this.#deliverCached(consumer, cached);
    return () => {
      this.#subs.delete(sub);
    };
  }

  put(envelope: Envelope): void | Promise<void> {
    if (this.#closed) return;
    const pending: Promise<void>[] = [];
    let matched = false;
    for (const sub of this.#subs) {
      if (!sub.predicate(envelope)) continue;
      matched = true;
      const r = this.#safePut(sub.consumer, envelope);
      if (r) pending.push(r);
    }
    if (!matched) {
      if (this.cache.wants(envelope)) {
        if (!this.cache.put(envelope)) {
          this.#logger.warn("relay: cache full, envelope dropped", {
            message: messageTypeName(envelope.message),
          });
        }
      } else {
        this.#defaultHandler(envelope);
      }
    }
    if (pending.length === 0) return;
    return Promise.all(pending).then(() => undefined);
  }

  /** Closes the relay; throws a `PerunError` (after closing) if envelopes were still cached. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subs.clear();
    const left = this.cache.size;
    this.cache.flush();
    if (left > 0) throw new PerunError(`relay closed with ${left} cached envelopes`, { details: { left } });
  }

  async #deliverCached(consumer: Consumer, envelopes: readonly Envelope[]): Promise<void> {
    for (const e of envelopes) await this.#safePut(consumer, e);
  }

  /** Calls a consumer; its failure is logged so one broken consumer cannot stall the relay. */
  #safePut(consumer: Consumer, envelope: Envelope): Promise<void> | undefined {
    try {
      const r = putTo(consumer, envelope);
      if (r === undefined) return undefined;
      return r.catch((err: unknown) => this.#logger.warn("relay: consumer failed", { error: String(err) }));
    } catch (err) {
      this.#logger.warn("relay: consumer failed", { error: String(err) });
      return undefined;
    }
  }
}
