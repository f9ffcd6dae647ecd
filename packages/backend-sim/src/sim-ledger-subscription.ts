import { type AdjudicatorEvent, type AdjudicatorSubscription, AsyncQueue } from "@perun-ts/core";

/**
 * One subscriber's stream of a channel's ledger events. Events are queued (none is dropped) until the
 * consumer pulls them; `close()` (or leaving a `for await` loop) ends the stream, resolves pending
 * `next()` calls with `done` and detaches it from the ledger.
 */
export class SimLedgerSubscription extends AsyncQueue<AdjudicatorEvent> implements AdjudicatorSubscription {
  /** @internal Created by `SimLedger.subscribe`. */
  constructor(first: AdjudicatorEvent | undefined, onClose: () => void) {
    super(onClose);
    if (first) this.push(first);
  }
}
