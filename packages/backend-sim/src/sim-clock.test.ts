import { AbortError } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { ClockTimeout, ManualClock, WallClock } from "./sim-clock.js";

function track(p: Promise<unknown>): () => boolean {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return () => done;
}

const flush = () => new Promise((r) => setImmediate(r));

describe("ManualClock", () => {
  it("moves only when advanced and wakes waiters whose time has come", async () => {
    const clock = new ManualClock(100n);
    const at110 = track(clock.waitUntil(110n));
    const at120 = track(clock.waitUntil(120n));
    await flush();
    expect([at110(), at120()]).toEqual([false, false]);
    clock.advance(9n);
    await flush();
    expect([clock.now(), at110(), at120()]).toEqual([109n, false, false]);
    clock.advance(1n);
    await flush();
    expect([at110(), at120()]).toEqual([true, false]);
    clock.set(200n);
    await flush();
    expect(at120()).toBe(true);
    expect(clock.pendingWaiters).toBe(0);
  });

  it("resolves at once for a time in the past", async () => {
    const clock = new ManualClock(50n);
    await expect(clock.waitUntil(50n)).resolves.toBeUndefined();
    await expect(clock.waitUntil(0n)).resolves.toBeUndefined();
  });

  it("rejects with AbortError on abort and leaves no waiter behind", async () => {
    const clock = new ManualClock();
    const ctl = new AbortController();
    const p = clock.waitUntil(10n, { signal: ctl.signal });
    expect(clock.pendingWaiters).toBe(1);
    ctl.abort("stop");
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(clock.pendingWaiters).toBe(0);
    await expect(clock.waitUntil(10n, { signal: ctl.signal })).rejects.toBeInstanceOf(AbortError);
    expect(clock.pendingWaiters).toBe(0);
  });

  it("refuses to go backwards or to advance by a negative amount", () => {
    const clock = new ManualClock(10n);
    expect(() => clock.set(9n)).toThrow(RangeError);
    expect(() => clock.advance(-1n)).toThrow(RangeError);
    expect(() => new ManualClock(-1n)).toThrow(RangeError);
    expect(clock.now()).toBe(10n);
  });
});

describe("ClockTimeout", () => {
  it("is elapsed from its time on and can be awaited", async () => {
    const clock = new ManualClock(0n);
    const t = new ClockTimeout(clock, 5n);
    expect(await t.isElapsed()).toBe(false);
    const waited = track(t.wait());
    clock.advance(5n);
    await flush();
    expect(waited()).toBe(true);
    expect(await t.isElapsed()).toBe(true);
  });
});

describe("WallClock", () => {
  it("follows the system time plus its offset", () => {
    const clock = new WallClock(1000n);
    const sys = BigInt(Math.floor(Date.now() / 1000));
    const now = clock.now();
    expect(now - 1000n >= sys && now - 1000n <= sys + 1n).toBe(true);
  });

  it("resolves at once for the present and aborts a long wait (clearing its timer)", async () => {
    const clock = new WallClock();
    await expect(clock.waitUntil(clock.now())).resolves.toBeUndefined();
    const ctl = new AbortController();
    const p = clock.waitUntil(clock.now() + 3600n, { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });
});
