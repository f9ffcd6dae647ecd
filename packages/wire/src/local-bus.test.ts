import { AbortError } from "@perun-ts/core";
import { beforeAll, describe, expect, it } from "vitest";
import type { Envelope } from "./envelope.js";
import { BusClosedError } from "./errors.js";
import { account, installEqualityTesters, makeCodec, sampleUpdateEnvelope } from "./fixtures.test.helper.js";
import { LocalBus } from "./local-bus.js";

beforeAll(() => installEqualityTesters());

const a = account(0).address;
const b = account(1).address;

describe("LocalBus", () => {
  it("makes the publisher wait for a subscriber and rejects with AbortError when it gives up", async () => {
    const bus = new LocalBus();
    const ctl = new AbortController();
    const p = bus.publish(sampleUpdateEnvelope(a, b), { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toThrow(AbortError);
    const got: Envelope[] = [];
    bus.subscribe(b, (e) => void got.push(e));
    await bus.publish(sampleUpdateEnvelope(a, b));
    expect(got).toHaveLength(1); // the aborted envelope was not delivered later
  });

  it("rejects waiting and later publishes with BusClosedError on close", async () => {
    const bus = new LocalBus();
    const waiting = expect(bus.publish(sampleUpdateEnvelope(a, b))).rejects.toThrow(BusClosedError);
    await bus.close();
    await waiting;
    await expect(bus.publish(sampleUpdateEnvelope(a, b))).rejects.toThrow(BusClosedError);
  });

  it("delivers a decoded copy when serializing, and resolves only after an async consumer finished", async () => {
    const bus = new LocalBus({ codec: makeCodec() });
    const env = sampleUpdateEnvelope(a, b);
    let release: () => void = () => {};
    const got: Envelope[] = [];
    bus.subscribe(b, (e) => {
      got.push(e);
      return new Promise<void>((r) => {
        release = r;
      });
    });
    let done = false;
    const p = bus.publish(env).then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(1);
    expect(got[0]).not.toBe(env);
    expect(got[0]).toEqual(env);
    expect(done).toBe(false);
    release();
    await p;
    expect(done).toBe(true);
  });
});
