import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  abortable,
  Deferred,
  Mutex,
  sleep,
  throwIfAborted,
  timeoutController,
  timeoutSignal,
  toAbortError,
  withLock,
  withTimeout,
} from "./async.js";
import { AbortError, RequestTimedOutError } from "./errors.js";

// Every test in this file must leave no unhandled rejection behind.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(async () => {
  // Give late rejections a chance to surface before checking.
  await new Promise((r) => setTimeout(r, 20));
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toEqual([]);
});

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A bare promise with its reject exposed (unlike Deferred, it does not mark itself handled). */
function bare<T>(): { promise: Promise<T>; reject: (e: unknown) => void } {
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((_, rej) => {
    reject = rej;
  });
  return { promise, reject };
}

describe("Mutex", () => {
  it("grants the lock in FIFO order", async () => {
    const m = new Mutex();
    const order: number[] = [];
    const first = await m.lock();
    const waiters = [1, 2, 3].map((i) =>
      m.lock().then((release) => {
        order.push(i);
        release();
      }),
    );
    expect(m.waiting).toBe(3);
    await tick();
    expect(order).toEqual([]);
    first();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(m.isLocked).toBe(false);
  });

  it("an aborted waiter leaves the queue and rejects with AbortError", async () => {
    const m = new Mutex();
    const release = await m.lock();
    const ctl = new AbortController();
    const aborted = m.lock({ signal: ctl.signal });
    const next = m.lock();
    expect(m.waiting).toBe(2);
    ctl.abort("user gave up");
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    expect(m.waiting).toBe(1);
    release();
    const r2 = await next;
    expect(m.isLocked).toBe(true);
    r2();
    expect(m.isLocked).toBe(false);
  });

  it("rejects at once with an already aborted signal, even if the lock is free", async () => {
    const m = new Mutex();
    await expect(m.lock({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(m.isLocked).toBe(false);
  });

  it("abort after the lock was granted has no effect; release is idempotent", async () => {
    const m = new Mutex();
    const ctl = new AbortController();
    const r1 = await m.lock({ signal: ctl.signal });
    ctl.abort();
    expect(m.isLocked).toBe(true);
    const pending = m.lock();
    r1();
    r1(); // must not release the lock the next holder got
    const r2 = await pending;
    expect(m.isLocked).toBe(true);
    r2();
    expect(m.isLocked).toBe(false);
  });

  it("tryLock takes a free lock only", () => {
    const m = new Mutex();
    const r = m.tryLock();
    expect(r).toBeTypeOf("function");
    expect(m.tryLock()).toBeUndefined();
    r?.();
    expect(m.tryLock()).toBeTypeOf("function");
  });

  it("withLock serialises and releases on error", async () => {
    const m = new Mutex();
    let inside = 0;
    let maxInside = 0;
    const job = (fail: boolean) =>
      withLock(m, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await tick();
        inside--;
        if (fail) throw new Error("boom");
        return 1;
      });
    const results = await Promise.allSettled([job(false), job(true), job(false)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(maxInside).toBe(1);
    expect(m.isLocked).toBe(false);
  });
});

describe("Deferred", () => {
  it("resolves once; later calls are ignored", async () => {
    const d = new Deferred<number>();
    expect(d.settled).toBe(false);
    d.resolve(1);
    d.resolve(2);
    d.reject(new Error("late"));
    expect(d.settled).toBe(true);
    await expect(d.promise).resolves.toBe(1);
  });

  it("a rejection nobody awaits is not unhandled; awaiting it still rejects", async () => {
    const lonely = new Deferred<void>();
    lonely.reject(new Error("nobody listens"));
    const d = new Deferred<void>();
    d.reject(new Error("x"));
    await expect(d.promise).rejects.toThrow("x");
  });
});

describe("sleep", () => {
  it("resolves after the delay", async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
  });

  it("rejects with AbortError on abort (before or during)", async () => {
    await expect(sleep(10, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    const ctl = new AbortController();
    const p = sleep(60_000, { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });
});

describe("withTimeout", () => {
  it("passes the result or error through", async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, () => new Error("t"))).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error("e")), 1000, () => new Error("t"))).rejects.toThrow(
      "e",
    );
  });

  it("rejects with the made error when time runs out, absorbing a later rejection", async () => {
    const late = bare<number>();
    const p = withTimeout(late.promise, 1, () => new RequestTimedOutError("too slow"));
    await expect(p).rejects.toBeInstanceOf(RequestTimedOutError);
    late.reject(new Error("after the timeout"));
    await tick();
  });

  it("rejects with AbortError when the signal aborts first", async () => {
    const ctl = new AbortController();
    const never = new Promise<number>(() => {});
    const p = withTimeout(never, 60_000, () => new Error("t"), { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    await expect(withTimeout(never, 60_000, () => 0, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      AbortError,
    );
  });
});

describe("signals", () => {
  it("timeoutSignal aborts after the delay or with its parent", async () => {
    const s = timeoutSignal(1);
    await new Promise((r) => s.addEventListener("abort", r, { once: true }));
    expect(s.aborted).toBe(true);
    const parent = new AbortController();
    const child = timeoutSignal(60_000, parent.signal);
    expect(child.aborted).toBe(false);
    parent.abort("stop");
    expect(child.aborted).toBe(true);
    expect(child.reason).toBe("stop");
  });

  it("timeoutSignal with a live parent still fires its own timeout (TimeoutError)", async () => {
    const parent = new AbortController();
    const child = timeoutSignal(5, parent.signal);
    await new Promise((r) => child.addEventListener("abort", r, { once: true }));
    expect(parent.signal.aborted).toBe(false);
    expect((child.reason as DOMException).name).toBe("TimeoutError");
    const pre = new AbortController();
    pre.abort("early");
    expect(timeoutSignal(1000, pre.signal).reason).toBe("early");
  });

  it("timeoutController.clear stops the timer and detaches from the parent", async () => {
    const parent = new AbortController();
    const t = timeoutController(5, parent.signal);
    t.clear();
    await sleep(20);
    expect(t.signal.aborted).toBe(false);
    parent.abort("late");
    expect(t.signal.aborted).toBe(false);
  });

  it("throwIfAborted converts the reason to AbortError", () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    const ctl = new AbortController();
    ctl.abort("why");
    expect(() => throwIfAborted(ctl.signal)).toThrow(AbortError);
    expect(() => throwIfAborted(ctl.signal)).toThrow("aborted: why");
    const own = new AbortError("mine");
    expect(toAbortError(own)).toBe(own);
    expect(toAbortError(new Error("e")).cause).toBeInstanceOf(Error);
  });

  it("abortable stops waiting on abort and absorbs a later rejection", async () => {
    const d = bare<number>();
    const ctl = new AbortController();
    const p = abortable(d.promise, ctl.signal);
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    d.reject(new Error("late"));
    await tick();
    await expect(abortable(Promise.resolve(3), new AbortController().signal)).resolves.toBe(3);
    await expect(abortable(Promise.resolve(4), undefined)).resolves.toBe(4);
  });
});
