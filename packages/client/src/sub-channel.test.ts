import { SimAsset } from "@perun-ts/backend-sim";
import { type Allocation, noApp, type State } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { remap } from "./child-proposal.js";
import { fundedAllocation, fundingMismatch, settlementMismatch } from "./sub-channel.js";

const asset = new SimAsset(1n);
const parentId = new Uint8Array(32).fill(1);
const childId = new Uint8Array(32).fill(2);

function state(version: bigint, allocation: Allocation): State {
  return { id: parentId, version, app: noApp, allocation, data: new Uint8Array(), isFinal: false };
}

const from = state(3n, { assets: [asset], balances: [[10n, 10n]], locked: [] });

describe("sub-channel funding check", () => {
  it("accepts exactly the proposed amounts from the right participants", () => {
    const to = state(4n, fundedAllocation(from.allocation, childId, [[3n, 2n]], []));
    expect(fundingMismatch(from, to, childId, [[3n, 2n]], [])).toBeUndefined();
  });

  it("names the participant debited wrongly", () => {
    const to = state(4n, fundedAllocation(from.allocation, childId, [[0n, 5n]], []));
    expect(fundingMismatch(from, to, childId, [[3n, 2n]], [])).toMatch(/participant 0 was debited 0/);
  });

  it("names wrong locked amounts", () => {
    const to = state(4n, fundedAllocation(from.allocation, childId, [[1n, 2n]], []));
    expect(fundingMismatch(from, to, childId, [[3n, 2n]], [])).toMatch(/locks 3 of asset 0, expected 5/);
  });

  it("rejects a final funding update and a wrong index map", () => {
    const good = fundedAllocation(from.allocation, childId, [[3n, 2n]], [0, 1]);
    expect(fundingMismatch(from, { ...state(4n, good), isFinal: true }, childId, [[3n, 2n]], [0, 1])).toMatch(
      /final/,
    );
    expect(fundingMismatch(from, state(4n, good), childId, [[3n, 2n]], [1, 0])).toMatch(
      /locked funds differ/,
    );
  });
});

describe("sub-channel settlement check", () => {
  const locked = state(4n, fundedAllocation(from.allocation, childId, [[3n, 2n]], []));
  it("accepts the release with exactly the final balances", () => {
    const to = state(5n, { assets: [asset], balances: [[11n, 9n]], locked: [] });
    expect(settlementMismatch(locked, to, childId, [[4n, 1n]])).toBeUndefined();
  });
  it("names a participant credited wrongly", () => {
    const to = state(5n, { assets: [asset], balances: [[12n, 8n]], locked: [] });
    expect(settlementMismatch(locked, to, childId, [[4n, 1n]])).toMatch(/participant 0 was credited 5/);
  });
});

describe("remap", () => {
  it("routes virtual balances to parent participants through the index map", () => {
    expect(remap([[2n, 8n]], [1, 0], 2)).toEqual([[8n, 2n]]);
    expect(remap([[2n, 8n]], [], 2)).toEqual([[2n, 8n]]);
  });
});
