import { silentLogger } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { EventRelay } from "./event-relay.js";

interface Item {
  readonly n: number;
}

function relay(capacity = 4) {
  const warnings: unknown[] = [];
  const logger = {
    ...silentLogger,
    warn: (_m: string, f?: unknown) => warnings.push(f),
    child: () => logger,
  };
  return { r: new EventRelay<Item>(capacity, logger, (i) => ({ n: i.n })), warnings };
}

async function drain(it: AsyncIterable<Item>): Promise<number[]> {
  const out: number[] = [];
  for await (const i of it) out.push(i.n);
  return out;
}

describe("EventRelay", () => {
  it("delivers pushed items in order to a waiting and to a late consumer, then ends on close", async () => {
    const { r } = relay();
    const it = r[Symbol.asyncIterator]();
    const first = it.next();
    r.push({ n: 1 });
    r.push({ n: 2 });
    expect(await first).toEqual({ value: { n: 1 }, done: false });
    r.close();
    expect(await it.next()).toEqual({ value: { n: 2 }, done: false });
    expect((await it.next()).done).toBe(true);
    expect((await it.next()).done).toBe(true);
  });

  it("drops the oldest item when full, logs it and counts it", async () => {
    const { r, warnings } = relay(2);
    for (const n of [1, 2, 3, 4]) r.push({ n });
    r.close();
    expect(await drain(r)).toEqual([3, 4]);
    expect(r.dropped).toBe(2);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ n: 1, droppedSoFar: 1 });
  });

  it("throws the close error after the buffered items", async () => {
    const { r } = relay();
    r.push({ n: 1 });
    const boom = new Error("boom");
    r.close(boom);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const i of r) seen.push(i.n);
      })(),
    ).rejects.toBe(boom);
    expect(seen).toEqual([1]);
  });

  it("allows a single consumer only", () => {
    const { r } = relay();
    r[Symbol.asyncIterator]();
    expect(() => r[Symbol.asyncIterator]()).toThrow(/single consumer/);
  });

  it("a consumer that leaves releases a pending next() and stops buffering", async () => {
    const { r } = relay();
    const it = r[Symbol.asyncIterator]();
    const pending = it.next();
    await it.return?.();
    expect((await pending).done).toBe(true);
    r.push({ n: 1 });
    expect((await it.next()).done).toBe(true);
    expect(r.dropped).toBe(0);
  });

  it("rejects a non-positive capacity", () => {
    expect(() => relay(0)).toThrow(RangeError);
  });
});
