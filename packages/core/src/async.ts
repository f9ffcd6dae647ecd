/**
 * Small async utilities over `AbortSignal`: an abortable FIFO mutex, a deferred promise, an
 * abortable sleep and timeout helpers. None of them leaves a rejection unhandled.
 */
import { AbortError } from "./errors.js";
import type { CallOptions } from "./ledger.js";

/** Converts an abort reason into core's `AbortError` (kept as is if it already is one). */
export function toAbortError(reason: unknown): AbortError {
  return reason instanceof AbortError ? reason : new AbortError(reason);
}

/** Throws core's `AbortError` if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw toAbortError(signal.reason);
}

/** Releases a held lock; calling it more than once has no further effect. */
export type Release = () => void;

interface Waiter {
  readonly grant: (release: Release) => void;
  readonly detach: () => void;
}

/**
 * A mutual-exclusion lock with a FIFO queue. `lock` can be aborted through a signal: the waiter
 * leaves the queue and the call rejects with `AbortError`.
 *
 * @example
 * ```ts
 * const release = await mutex.lock({ signal });
 * try { … } finally { release(); }
 * ```
 */
export class Mutex {
  #held = false;
  readonly #queue: Waiter[] = [];

  /** True while someone holds the lock. */
  get isLocked(): boolean {
    return this.#held;
  }

  /** Number of callers waiting for the lock. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Takes the lock if it is free, else returns `undefined`. */
  tryLock(): Release | undefined {
    if (this.#held) return undefined;
    this.#held = true;
    return this.#releaser();
  }

  /** Waits for the lock (FIFO). Rejects with `AbortError` if `signal` aborts first. */
  lock(opts: CallOptions = {}): Promise<Release> {
    const { signal } = opts;
    try {
      throwIfAborted(signal);
    } catch (e) {
      return Promise.reject(e);
    }
    const now = this.tryLock();
    if (now) return Promise.resolve(now);
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(toAbortError(signal?.reason));
      };
      const waiter: Waiter = {
        grant: resolve,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      this.#queue.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) {
        // Hand over directly so nobody can barge in between.
        next.detach();
        next.grant(this.#releaser());
      } else {
        this.#held = false;
      }
    };
  }
}

/** Runs `fn` while holding `mutex`; releases it however `fn` ends. */
export async function withLock<T>(
  mutex: Mutex,
  fn: () => T | Promise<T>,
  opts: CallOptions = {},
): Promise<T> {
  const release = await mutex.lock(opts);
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * A promise with its `resolve`/`reject` exposed. A rejection nobody awaits is not reported as
 * unhandled (a waiter may legitimately have gone away); awaiting `promise` still sees it.
 */
export class Deferred<T> {
  readonly promise: Promise<T>;
  #resolve!: (v: T) => void;
  #reject!: (e: unknown) => void;
  #settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.promise.catch(() => {});
  }

  /** True once resolved or rejected; later calls are ignored. */
  get settled(): boolean {
    return this.#settled;
  }

  resolve(value: T): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve(value);
  }

  reject(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }
}

/** Resolves after `ms` milliseconds; rejects with `AbortError` (and clears the timer) on abort. */
export function sleep(ms: number, opts: CallOptions = {}): Promise<void> {
  const { signal } = opts;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(toAbortError(signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(toAbortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles like `promise`, or rejects with `makeError()` if `ms` milliseconds pass first (or with
 * `AbortError` if `opts.signal` aborts first). A later rejection of `promise` is absorbed.
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  makeError: () => unknown,
  opts: CallOptions = {},
): Promise<T> {
  const { signal } = opts;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (finish()) reject(toAbortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      if (finish()) reject(makeError());
    }, ms);
    promise.then(
      (v) => {
        if (finish()) resolve(v);
      },
      (e: unknown) => {
        if (finish()) reject(e);
      },
    );
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A signal that aborts after `ms` milliseconds (reason: a `TimeoutError` DOMException) or when
 * `parent` aborts (with the parent's reason), whichever comes first.
 */
export function timeoutSignal(ms: number, parent?: AbortSignal): AbortSignal {
  return timeoutController(ms, parent).signal;
}

/** A `timeoutSignal` that can be released early (`clear`) once the guarded wait is over. */
export interface TimeoutController {
  readonly signal: AbortSignal;
  /** Stops the timer and detaches from the parent; the signal then never aborts by itself. */
  clear(): void;
}

/**
 * Like `timeoutSignal`, with `clear()` to drop the timer and the parent listener as soon as the
 * wait it guards has ended (otherwise both live until the timeout, e.g. 30 s per channel opening).
 */
export function timeoutController(ms: number, parent?: AbortSignal): TimeoutController {
  // Built from a controller and a timer rather than AbortSignal.any([parent,
  // AbortSignal.timeout(ms)]): on Node 20 a timeout signal reachable only through `any` can be
  // garbage-collected before it fires, leaving a wait that never ends. The timer holds the
  // controller, so the returned signal stays alive until it fires or the parent aborts.
  const ctrl = new AbortController();
  if (parent?.aborted) {
    ctrl.abort(parent.reason);
    return { signal: ctrl.signal, clear() {} };
  }
  const onParentAbort = () => {
    clearTimeout(timer);
    ctrl.abort(parent?.reason);
  };
  const timer = setTimeout(() => {
    parent?.removeEventListener("abort", onParentAbort);
    ctrl.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
  }, ms);
  timer.unref(); // like AbortSignal.timeout: a pending timeout does not keep the process alive
  parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: ctrl.signal,
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

/**
 * Settles like `promise` unless `signal` aborts first, in which case it rejects with `AbortError`.
 * The underlying operation is not cancelled; a later rejection of `promise` is absorbed.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(toAbortError(signal.reason));
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}
