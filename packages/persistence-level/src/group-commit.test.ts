// Group commit: many concurrent calls share one batch (one fsync); nobody is acknowledged before
// the batch holding its data is written; order is kept; a failed batch fails exactly its callers.
import { Deferred } from "@perun-ts/core";
import { afterEach, describe, expect, it } from "vitest";
import { makeFixture, peerOf, TestChannel } from "./channel-fixture.test-helper.js";
import { type BatchInfo, type BatchOperation, GroupCommitQueue } from "./group-commit.js";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

function put(n: number): BatchOperation {
  return { type: "put", key: Uint8Array.of(n), value: Uint8Array.of(n) };
}

/** A writer whose batches complete only when the test says so. */
class FakeStore {
  readonly batches: { ops: number[]; sync: boolean; done: Deferred<void>; written: boolean }[] = [];
  readonly write = (ops: BatchOperation[], sync: boolean): Promise<void> => {
    const b = { ops: ops.map((o) => o.key[0] as number), sync, done: new Deferred<void>(), written: false };
    this.batches.push(b);
    return b.done.promise.then(() => {
      b.written = true;
    });
  };
  /** Resolves once `n` batches were started. */
  async started(n: number): Promise<void> {
    while (this.batches.length < n) await new Promise((r) => setImmediate(r));
  }
  /** True if `key` is in a batch that has been written. */
  isWritten(key: number): boolean {
    return this.batches.some((b) => b.written && b.ops.includes(key));
  }
}

describe("GroupCommitQueue", () => {
  it("merges calls of one tick into one batch and calls during a write into the next", async () => {
    const store = new FakeStore();
    const infos: BatchInfo[] = [];
    const q = new GroupCommitQueue(store.write, { sync: true, merge: true, onBatch: (i) => infos.push(i) });
    const acked: number[] = [];
    const submit = (n: number) =>
      q.submit([put(n)]).then(() => {
        // acknowledged only after the batch holding n was written
        expect(store.isWritten(n)).toBe(true);
        acked.push(n);
      });
    const first = [1, 2, 3].map(submit);
    await store.started(1);
    expect(store.batches[0]?.ops).toEqual([1, 2, 3]);
    // while batch 1 is in flight, more calls arrive (across several ticks)
    const second = [submit(4)];
    await new Promise((r) => setImmediate(r));
    second.push(submit(5), submit(6));
    await new Promise((r) => setImmediate(r));
    expect(store.batches.length).toBe(1);
    expect(acked).toEqual([]);
    store.batches[0]?.done.resolve();
    await Promise.all(first);
    await store.started(2);
    expect(store.batches[1]?.ops).toEqual([4, 5, 6]);
    expect(acked).toEqual([1, 2, 3]);
    store.batches[1]?.done.resolve();
    await Promise.all(second);
    expect(acked).toEqual([1, 2, 3, 4, 5, 6]);
    expect(infos).toEqual([
      { calls: 3, operations: 3, sync: true },
      { calls: 3, operations: 3, sync: true },
    ]);
  });

  it("keeps the order of operations within and across batches", async () => {
    const store = new FakeStore();
    // every batch completes one macrotask after it started
    const write = (ops: BatchOperation[], sync: boolean) => {
      const p = store.write(ops, sync);
      setImmediate(() => store.batches.at(-1)?.done.resolve());
      return p;
    };
    const q = new GroupCommitQueue(write, { sync: false, merge: true });
    const all: Promise<void>[] = [];
    for (let n = 0; n < 20; n++) {
      all.push(q.submit([put(n), put(100 + n)]));
      if (n % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(store.batches.length).toBeGreaterThan(1);
    const order = store.batches.flatMap((b) => b.ops);
    expect(order).toEqual(Array.from({ length: 20 }, (_, n) => [n, 100 + n]).flat());
    expect(store.batches.every((b) => !b.sync && b.written)).toBe(true);
  });

  it("a failed batch rejects exactly its callers; later batches still run", async () => {
    const store = new FakeStore();
    const q = new GroupCommitQueue(store.write, { sync: true, merge: true });
    const a = q.submit([put(1)]);
    const b = q.submit([put(2)]);
    await store.started(1);
    const c = q.submit([put(3)]);
    store.batches[0]?.done.reject(new Error("disk full"));
    await expect(a).rejects.toThrow("disk full");
    await expect(b).rejects.toThrow("disk full");
    await store.started(2);
    store.batches[1]?.done.resolve();
    await expect(c).resolves.toBeUndefined();
  });

  it("without merging every call is its own batch", async () => {
    const store = new FakeStore();
    const infos: BatchInfo[] = [];
    const q = new GroupCommitQueue(store.write, { sync: true, merge: false, onBatch: (i) => infos.push(i) });
    const all = [1, 2, 3].map((n) => q.submit([put(n)]));
    expect(store.batches.map((b) => b.ops)).toEqual([[1], [2], [3]]);
    for (const b of store.batches) b.done.resolve();
    await Promise.all(all);
    expect(infos.length).toBe(3);
  });

  it("a call submitted straight from the previous call's resolution is not stranded", async () => {
    const written: number[] = [];
    const q = new GroupCommitQueue(
      async (ops) => {
        written.push(...ops.map((o) => o.key[0] as number));
      },
      { sync: false, merge: true },
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("second write never completed")), 5000);
    });
    try {
      await Promise.race([q.submit([put(1)]).then(() => q.submit([put(2)])), hang]);
    } finally {
      clearTimeout(timer);
    }
    expect(written).toEqual([1, 2]);
  });

  it("drain writes what is queued at once and waits for it", async () => {
    const store = new FakeStore();
    const q = new GroupCommitQueue(store.write, { sync: true, merge: true });
    const p = q.submit([put(9)]);
    const drained = q.drain();
    expect(store.batches.length).toBe(1); // started synchronously, not on the next tick
    let done = false;
    void drained.then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    store.batches[0]?.done.resolve();
    await drained;
    await p;
    expect(store.isWritten(9)).toBe(true);
  });
});

describe("LevelPersistRestorer group commit", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("N concurrent durable writes share fewer fsync batches and are all on disk after they resolve", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const f = makeFixture(4);
    const infos: BatchInfo[] = [];
    const pr = await LevelPersistRestorer.open(dir.path, {
      ...f.ctx,
      durable: true,
      onBatch: (i) => infos.push(i),
    });
    cleanups.push(() => pr.close());
    const channels = Array.from({ length: 32 }, (_, i) => new TestChannel(f, peerOf(f, i % 4), BigInt(i)));
    await Promise.all(channels.map((c) => c.created(pr)));
    await Promise.all(channels.map((c) => c.open(pr)));
    const calls = channels.length * 6; // created, staged, 2× sigAdded, enabled, phaseChanged
    expect(pr.stats.calls).toBe(calls);
    expect(infos.reduce((n, i) => n + i.calls, 0)).toBe(calls);
    expect(infos.every((i) => i.sync)).toBe(true);
    expect(pr.stats.batches).toBe(infos.length);
    expect(pr.stats.batches).toBeLessThan(calls);
    console.log(`group commit: ${calls} calls in ${pr.stats.batches} batches`);
    expect(pr.stats.batches).toBeLessThanOrEqual(calls / 4);
    await pr.close();
    const again = await LevelPersistRestorer.open(dir.path, { ...f.ctx });
    cleanups.push(() => again.close());
    for (const c of channels) expect((await again.restoreChannel(c.id)).phase).toBe(c.machine.phase);
  });

  it("without group commit every call is its own batch", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const f = makeFixture(2);
    const pr = await LevelPersistRestorer.open(dir.path, { ...f.ctx, durable: true, groupCommit: false });
    cleanups.push(() => pr.close());
    const channels = Array.from({ length: 8 }, (_, i) => new TestChannel(f, peerOf(f, i % 2), BigInt(i)));
    await Promise.all(channels.map((c) => c.created(pr)));
    expect(pr.stats).toEqual({ batches: 8, calls: 8 });
  });
});
