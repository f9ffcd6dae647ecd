import { AbortError, type CallOptions, type Timeout } from "@perun-ts/core";

/**
 * The time source of a `SimLedger`: the ledger's "block timestamp" in whole seconds.
 * Two implementations: `ManualClock` (tests move time explicitly) and `WallClock` (demos).
 */
export interface SimClock {
  /** The current ledger time in seconds. */
  now(): bigint;
  /**
   * Resolves once `now() >= at`; rejects with `AbortError` when `opts.signal` aborts (the waiter is
   * removed, nothing is left behind).
   */
  waitUntil(at: bigint, opts?: CallOptions): Promise<void>;
}

/** A `Timeout` at ledger time `at` on `clock`. */
export class ClockTimeout implements Timeout {
  constructor(
    readonly clock: SimClock,
    /** Ledger time (seconds) at which the timeout elapses. */
    readonly at: bigint,
  ) {}

  async isElapsed(): Promise<boolean> {
    return this.clock.now() >= this.at;
  }

  wait(opts?: CallOptions): Promise<void> {
    return this.clock.waitUntil(this.at, opts);
  }

  toString(): string {
    return `timeout@${this.at}`;
  }
}

interface Waiter {
  readonly at: bigint;
  readonly resolve: () => void;
  readonly detach: () => void;
}

function abortedError(signal: AbortSignal): AbortError {
  return new AbortError(signal.reason);
}

/**
 * A clock that only moves when told to (`advance`, `set`): dispute and funding timing becomes
 * deterministic and needs no sleeping in tests.
 *
 * @example
 * const clock = new ManualClock(1_000n);
 * const done = clock.waitUntil(1_060n);
 * clock.advance(60n); // `done` resolves
 */
export class ManualClock implements SimClock {
  #now: bigint;
  readonly #waiters = new Set<Waiter>();

  constructor(start = 0n) {
    if (typeof start !== "bigint" || start < 0n)
      throw new RangeError("clock start must be a non-negative bigint");
    this.#now = start;
  }

  now(): bigint {
    return this.#now;
  }

  /** Moves time forward by `seconds` (≥ 0) and wakes every waiter whose time has come. */
  advance(seconds: bigint): void {
    if (typeof seconds !== "bigint" || seconds < 0n) {
      throw new RangeError("a clock only advances by a non-negative bigint number of seconds");
    }
    this.set(this.#now + seconds);
  }

  /** Sets the time to `t`, which must not lie in the past (ledger time never goes back). */
  set(t: bigint): void {
    if (typeof t !== "bigint" || t < this.#now) throw new RangeError("ledger time cannot go backwards");
    this.#now = t;
    for (const w of [...this.#waiters]) {
      if (w.at <= t) {
        w.detach();
        w.resolve();
      }
    }
  }

  /** Number of callers currently waiting (0 after everything resolved or aborted: no leaks). */
  get pendingWaiters(): number {
    return this.#waiters.size;
  }

  waitUntil(at: bigint, opts: CallOptions = {}): Promise<void> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (this.#now >= at) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        waiter.detach();
        reject(abortedError(signal as AbortSignal));
      };
      const waiter: Waiter = {
        at,
        resolve,
        detach: () => {
          this.#waiters.delete(waiter);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Longest delay `setTimeout` accepts; longer waits are done in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Real time (Unix seconds, optionally shifted by `offset`): for demos where disputes should unfold
 * in wall-clock time. Waiting uses timers that are cleared on abort.
 */
export class WallClock implements SimClock {
  constructor(
    /** Seconds added to the system time (e.g. to make a demo start at a fixed ledger time). */
    readonly offset = 0n,
  ) {}

  now(): bigint {
    return BigInt(Math.floor(Date.now() / 1000)) + this.offset;
  }

  waitUntil(at: bigint, opts: CallOptions = {}): Promise<void> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (this.now() >= at) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        if (timer !== undefined) clearTimeout(timer);
        reject(abortedError(signal as AbortSignal));
      };
      const arm = () => {
        if (this.now() >= at) {
          signal?.removeEventListener("abort", onAbort);
          resolve();
          return;
        }
        const ms = Number(at - this.offset) * 1000 - Date.now();
        timer = setTimeout(arm, Math.min(Math.max(ms, 1), MAX_TIMER_MS));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      arm();
    });
  }
}
