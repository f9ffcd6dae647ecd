import { describe, expect, it } from "vitest";
import { AsyncQueue } from "./async-queue.js";

describe("AsyncQueue", () => {
  it("keeps values until pulled, serves waiting pulls, ends on close", async () => {
    let closed = 0;
    const q = new AsyncQueue<number>(() => closed++);
    q.push(1);
    const waiting = (async () => {
      const got: number[] = [];
      for await (const v of q) got.push(v);
      return got;
    })();
    await Promise.resolve();
    q.push(2);
    q.push(0); // falsy values are values too
    await new Promise((r) => setTimeout(r, 0));
    q.close();
    q.close();
    expect(await waiting).toEqual([1, 2, 0]);
    expect(closed).toBe(1);
    q.push(3);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  it("leaving a for-await loop closes it", async () => {
    const q = new AsyncQueue<string>();
    q.push("a");
    for await (const _ of q) break;
    expect(q.closed).toBe(true);
  });
});
