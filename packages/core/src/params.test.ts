import { describe, expect, it } from "vitest";
import type { App } from "./app.js";
import { noApp } from "./app.js";
import { channelIdEquals } from "./channel-id.js";
import { ValidationError } from "./errors.js";
import { FakeAddress } from "./fake-backend.test-helper.js";
import { MAX_NONCE, MAX_PARTS, MAX_UINT64 } from "./limits.js";
import { backend } from "./machine-fixture.test-helper.js";
import { Params, type ParamsInit } from "./params.js";

const addr = (n: number) => new FakeAddress(new Uint8Array(20).fill(n));
const init: ParamsInit = {
  challengeDuration: 60n,
  parts: [addr(1), addr(2)],
  app: noApp,
  nonce: 5n,
  ledgerChannel: true,
  virtualChannel: false,
};

describe("Params.create", () => {
  it("computes the id through the backend and freezes the result", () => {
    const p = Params.create(init, backend);
    expect(channelIdEquals(p.id, backend.calcId(init))).toBe(true);
    expect(p.numParts).toBe(2);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.parts)).toBe(true);
    expect(channelIdEquals(Params.create({ ...init, nonce: 6n }, backend).id, p.id)).toBe(false);
  });

  const cases: [string, Partial<ParamsInit> | Record<string, unknown>, RegExp][] = [
    ["zero challenge duration", { challengeDuration: 0n }, /challenge duration must be a positive/],
    ["negative challenge duration", { challengeDuration: -1n }, /challenge duration must be a positive/],
    ["number challenge duration", { challengeDuration: 60 }, /challenge duration must be a positive/],
    ["challenge duration over uint64", { challengeDuration: MAX_UINT64 + 1n }, /exceeds uint64/],
    ["one participant", { parts: [addr(1)] }, /2\.\.1024 participants, got 1/],
    [
      "too many participants",
      { parts: Array.from({ length: MAX_PARTS + 1 }, (_, i) => addr(i)) },
      /got 1025/,
    ],
    ["repeated participant", { parts: [addr(1), addr(2), addr(1)] }, /participant 2 repeats participant 0/],
    ["missing app", { app: null as unknown as App }, /app missing/],
    ["negative nonce", { nonce: -1n }, /nonce/],
    ["nonce over 32 bytes", { nonce: MAX_NONCE + 1n }, /nonce/],
    ["ledger and virtual", { virtualChannel: true }, /both ledger and virtual/],
  ];
  it.each(cases)("rejects %s with ValidationError", (_name, patch, re) => {
    const bad = { ...init, ...patch } as ParamsInit;
    expect(() => Params.create(bad, backend)).toThrow(ValidationError);
    expect(() => Params.create(bad, backend)).toThrow(re);
  });

  it("rejects a backend id that is not 32 bytes", () => {
    expect(() => Params.create(init, { calcId: () => new Uint8Array(31) })).toThrow(/not 32 bytes/);
  });
});
