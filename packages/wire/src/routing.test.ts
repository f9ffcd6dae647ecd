import { AbortError, PerunError } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { Cache } from "./cache.js";
import type { Envelope } from "./envelope.js";
import { ReceiverClosedError } from "./errors.js";
import { account } from "./fixtures.test.helper.js";
import { MessageType } from "./messages.js";
import { Receiver } from "./receiver.js";
import { Relay } from "./relay.js";

const a = account(0).address;
const b = account(1).address;

function env(reason: string): Envelope {
  return {
    sender: a,
    recipient: b,
    message: { type: MessageType.ChannelProposalRej, proposalId: new Uint8Array(32), reason },
  };
}
const reasonOf = (e: Envelope) =>
  e.message.type === MessageType.ChannelProposalRej ? e.message.reason : "?";
const startsWith = (p: string) => (e: Envelope) => reasonOf(e).startsWith(p);

describe("Receiver", () => {
  it("queues in order, blocks the producer beyond its capacity and releases it when read", async () => {
    const r = new Receiver(2);
    expect(r.put(env("1"))).toBeUndefined();
    expect(r.put(env("2"))).toBeUndefined();
    let released = false;
    const blocked = r.put(env("3"));
    expect(blocked).toBeInstanceOf(Promise);
    void blocked?.then(() => {
      released = true;
    });
    await new Promise((x) => setImmediate(x));
    expect(released).toBe(false);
    expect(reasonOf(await r.next())).toBe("1");
    await new Promise((x) => setImmediate(x));
    expect(released).toBe(true);
    expect(reasonOf(await r.next())).toBe("2");
    expect(reasonOf(await r.next())).toBe("3");
  });

  it("rejects next() on abort and on close", async () => {
    const r = new Receiver();
    const ctl = new AbortController();
    const p = r.next({ signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toThrow(AbortError);
    const q = r.next();
    r.close();
    await expect(q).rejects.toThrow(ReceiverClosedError);
    await expect(r.next()).rejects.toThrow(ReceiverClosedError);
    expect(r.put(env("late"))).toBeUndefined();
  });

  it("iterates until closed", async () => {
    const r = new Receiver();
    r.put(env("x"));
    r.put(env("y"));
    setImmediate(() => r.close());
    const seen: string[] = [];
    for await (const e of r) seen.push(reasonOf(e));
    expect(seen).toEqual(["x", "y"]);
  });
});

describe("Cache", () => {
  it("stores only what an active predicate wants, up to its capacity, and extracts by predicate", () => {
    const c = new Cache(2);
    expect(c.put(env("a1"))).toBe(false);
    const release = c.cache(startsWith("a"));
    expect(c.put(env("a1"))).toBe(true);
    expect(c.put(env("b1"))).toBe(false);
    expect(c.put(env("a2"))).toBe(true);
    expect(c.put(env("a3"))).toBe(false); // full
    expect(c.messages(startsWith("a2")).map(reasonOf)).toEqual(["a2"]);
    expect(c.size).toBe(1);
    release();
    expect(c.put(env("a4"))).toBe(false);
    c.flush();
    expect(c.size).toBe(0);
  });
});

describe("Relay", () => {
  it("fans out to every matching subscriber, caches for later subscribers, and hands the rest to the default", async () => {
    const dropped: string[] = [];
    const relay = new Relay({ defaultHandler: (e) => dropped.push(reasonOf(e)) });
    const x: string[] = [];
    const y: string[] = [];
    relay.subscribe(startsWith("x"), (e) => void x.push(reasonOf(e)));
    relay.subscribe(
      () => true,
      (e) => void y.push(reasonOf(e)),
    );
    await relay.put(env("x1"));
    expect(x).toEqual(["x1"]);
    expect(y).toEqual(["x1"]);

    const solo = new Relay({ defaultHandler: (e) => dropped.push(reasonOf(e)) });
    solo.cache.cache(startsWith("c"));
    await solo.put(env("c1"));
    await solo.put(env("d1"));
    expect(dropped).toEqual(["d1"]);
    expect(() => solo.close()).toThrow(PerunError); // closing with a cached envelope is reported
    const late = new Relay();
    late.cache.cache(startsWith("c"));
    await late.put(env("c1"));
    await late.put(env("c2"));
    const got: string[] = [];
    late.subscribe(startsWith("c"), (e) => void got.push(reasonOf(e)));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual(["c1", "c2"]);
    expect(late.cache.size).toBe(0);
  });

  it("waits for slow subscribers (back-pressure) and survives a failing one", async () => {
    const relay = new Relay();
    let release: () => void = () => {};
    relay.subscribe(
      () => true,
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    relay.subscribe(
      () => true,
      () => {
        throw new Error("broken consumer");
      },
    );
    let done = false;
    const p = Promise.resolve(relay.put(env("z"))).then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    release();
    await p;
    expect(done).toBe(true);
  });
});
