import type { PersistedChannel } from "@perun-ts/core";
import { channelIdHex } from "@perun-ts/core";
import { describe, expect, it } from "vitest";
import { depths } from "./restore-children.js";

/** Only `id` and `parent` matter to `depths`. */
function persisted(id: number, parent?: number): PersistedChannel {
  const bytes = (n: number) => new Uint8Array(32).fill(n);
  return {
    id: bytes(id),
    parent: parent === undefined ? undefined : bytes(parent),
  } as unknown as PersistedChannel;
}

describe("depths", () => {
  it("counts the levels below the root, in any input order", () => {
    const chans = [persisted(4, 3), persisted(3, 2), persisted(1), persisted(2, 1), persisted(5, 1)];
    const d = depths(chans);
    expect([1, 2, 3, 4, 5].map((n) => d.get(channelIdHex(new Uint8Array(32).fill(n))))).toEqual([
      0, 1, 2, 3, 1,
    ]);
  });

  it("puts a child of an unknown parent one level down and survives a cycle", () => {
    const d = depths([persisted(7, 9), persisted(1, 2), persisted(2, 1)]);
    expect(d.get(channelIdHex(new Uint8Array(32).fill(7)))).toBe(1);
    expect(d.size).toBe(3);
  });
});
