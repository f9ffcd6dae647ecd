// Property tests of the channel record layout. The seed is printed; rerun a failure with FC_SEED=<seed>.
import {
  DecodeError,
  encodeParams,
  encodeTransaction,
  MemoryPersistRestorer,
  type PersistedChannel,
} from "@perun-ts/core";
import { persistedChannelDiff } from "@perun-ts/testing";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { makeFixture, peerOf, TestChannel } from "./channel-fixture.test-helper.js";
import { decodeRecord, encodeFixed, encodeRecord, parseRecord, RecordFormatError } from "./record.js";

const seed = process.env.FC_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FC_SEED);
console.log(`record.prop.test.ts: fast-check seed ${seed} (rerun with FC_SEED=${seed})`);

const f = makeFixture(2);

function encodeChannel(c: PersistedChannel): Uint8Array {
  const fixed = encodeFixed(
    c.idx,
    c.parent,
    c.peers.map((p) => p.bytes()),
    encodeParams(c.params),
  );
  return encodeRecord(fixed, c.phase, encodeTransaction(c.current), encodeTransaction(c.staging));
}

describe("channel record", () => {
  const samples: PersistedChannel[] = [];

  beforeAll(async () => {
    // records of a channel at several points of its life, with and without a parent
    const mem = new MemoryPersistRestorer();
    const parent = new TestChannel(f, peerOf(f, 0), 1n);
    const child = new TestChannel(f, peerOf(f, 1), 2n, parent.id);
    for (const c of [parent, child]) {
      samples.push(c.expected());
      await c.created(mem);
      await c.open(mem);
      samples.push(c.expected());
      await c.stage(mem);
      await c.ownSig(mem);
      samples.push(c.expected());
    }
  });

  it("round-trips every sample exactly", () => {
    for (const c of samples) {
      const back = decodeRecord(encodeChannel(c), c.id, f.ctx);
      expect(persistedChannelDiff(c, back)).toBeUndefined();
      expect(parseRecord(encodeChannel(c)).phase).toBe(c.phase);
    }
  });

  it("any truncation, extension or byte change throws only RecordFormatError or DecodeError", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant("append" as const),
        extra: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
      fc.record({
        kind: fc.constant("flip" as const),
        flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      }),
    );
    fc.assert(
      fc.property(fc.nat(), mutation, (which, m) => {
        const c = samples[which % samples.length] as PersistedChannel;
        const bytes = encodeChannel(c);
        let mutated: Uint8Array;
        if (m.kind === "truncate") mutated = bytes.slice(0, m.at % bytes.length);
        else if (m.kind === "append") mutated = Uint8Array.of(...bytes, ...m.extra);
        else {
          mutated = bytes.slice();
          const seen = new Set<number>(); // distinct positions, so two flips cannot cancel out
          for (const [pos, x] of m.flips) {
            if (seen.has(pos % bytes.length)) continue;
            seen.add(pos % bytes.length);
            mutated[pos % bytes.length] = (mutated[pos % bytes.length] as number) ^ x;
          }
        }
        try {
          const back = decodeRecord(mutated, c.id, f.ctx);
          // A flip may hit a signature byte or an amount: then it decodes, as a different channel.
          expect(m.kind).toBe("flip");
          expect(persistedChannelDiff(c, back)).toBeDefined();
        } catch (e) {
          if (!(e instanceof RecordFormatError || e instanceof DecodeError)) throw e;
        }
      }),
      { seed, numRuns: 500 },
    );
  });
});
