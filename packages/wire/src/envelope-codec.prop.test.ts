import { DecodeError } from "@perun-ts/core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { FrameTooLargeError } from "./errors.js";
import {
  account,
  arbEnvelope,
  installEqualityTesters,
  makeCodec,
  messageArbitraries,
  sampleUpdateEnvelope,
} from "./fixtures.test.helper.js";
import { FRAME_HEADER_LENGTH } from "./frame-decoder.js";
import { MessageType } from "./messages.js";

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`envelope-codec.prop.test seed: ${seed} (set FC_SEED to reproduce)`);

beforeAll(() => installEqualityTesters());

describe("envelope codec round trip", () => {
  const codec = makeCodec();
  for (const [type, arb] of Object.entries(messageArbitraries)) {
    it(`round-trips ${MessageType[Number(type)]} with random contents`, () => {
      fc.assert(
        fc.property(
          fc.record({
            sender: arbEnvelope.map((e) => e.sender),
            recipient: arbEnvelope.map((e) => e.recipient),
            message: arb,
          }),
          (env) => {
            const frame = codec.encode(env);
            const decoded = codec.decodeFrame(frame);
            expect(decoded).toEqual(env);
            // Canonical: re-encoding gives the same bytes.
            expect(Buffer.from(codec.encode(decoded)).equals(Buffer.from(frame))).toBe(true);
          },
        ),
        { seed, numRuns: 40 },
      );
    });
  }
});

describe("frame decoder fed random and mutated bytes", () => {
  const codec = makeCodec(64 * 1024);
  const valid = codec.encode(sampleUpdateEnvelope(account(0).address, account(1).address));

  function feed(stream: Uint8Array, cuts: number[]): void {
    const frames = codec.newFrameDecoder();
    let last = 0;
    for (const cut of [...cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length]) {
      frames.push(stream.subarray(last, Math.max(last, cut)));
      last = Math.max(last, cut);
      for (let body = frames.next(); body !== undefined; body = frames.next()) codec.decodeBody(body);
    }
  }

  function onlyTypedErrors(stream: Uint8Array, cuts: number[]): boolean {
    try {
      feed(stream, cuts);
      return true;
    } catch (e) {
      if (e instanceof DecodeError || e instanceof FrameTooLargeError) return true;
      throw e;
    }
  }

  it("throws nothing but DecodeError/FrameTooLargeError for 100,000 random and mutated streams", () => {
    const mutated = fc
      .record({
        flips: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 4,
        }),
        cut: fc.option(fc.nat(), { nil: undefined }),
        extra: fc.uint8Array({ maxLength: 8 }),
      })
      .map(({ flips, cut, extra }) => {
        const b = Uint8Array.from(valid);
        for (const f of flips) b[FRAME_HEADER_LENGTH + (f.at % (b.length - FRAME_HEADER_LENGTH))] = f.byte;
        const body = cut === undefined ? b : b.subarray(0, cut % b.length);
        const out = new Uint8Array(body.length + extra.length);
        out.set(body);
        out.set(extra, body.length);
        return out;
      });
    const randomFramed = fc.uint8Array({ maxLength: 200 }).map((body) => {
      const out = new Uint8Array(body.length + 4);
      new DataView(out.buffer).setUint32(0, body.length);
      out.set(body, 4);
      return out;
    });
    const raw = fc.uint8Array({ maxLength: 64 });
    fc.assert(
      fc.property(
        fc.oneof(mutated, randomFramed, raw),
        fc.array(fc.nat(), { maxLength: 3 }),
        onlyTypedErrors,
      ),
      { seed, numRuns: 100_000 },
    );
  });

  it("accepts the unmutated frame split at any point", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 5 }), (cuts) => {
        feed(valid, cuts);
      }),
      { seed, numRuns: 200 },
    );
  });
});
