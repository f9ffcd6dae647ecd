import { describe, expect, it } from "vitest";
import { FrameTooLargeError } from "./errors.js";
import { FrameDecoder, writeFrameHeader } from "./frame-decoder.js";

function frame(body: number[]): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  writeFrameHeader(out, body.length);
  out.set(body, 4);
  return out;
}

describe("FrameDecoder", () => {
  it("splits frames that arrive byte by byte, together, or across chunks", () => {
    const stream = new Uint8Array([...frame([1, 2, 3]), ...frame([]), ...frame([9])]);
    for (const step of [1, 2, 5, stream.length]) {
      const d = new FrameDecoder(16);
      const got: number[][] = [];
      for (let i = 0; i < stream.length; i += step) {
        d.push(stream.subarray(i, i + step));
        for (let f = d.next(); f !== undefined; f = d.next()) got.push([...f]);
      }
      expect(got).toEqual([[1, 2, 3], [], [9]]);
      expect(d.buffered).toBe(0);
    }
  });

  it("throws FrameTooLargeError from the header alone", () => {
    const d = new FrameDecoder(8);
    d.push(new Uint8Array([0, 0, 0, 9]));
    const err = (() => {
      try {
        d.next();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).size).toBe(9);
  });

  it("handles many tiny chunks of one large frame in linear time", () => {
    const n = 200_000;
    const d = new FrameDecoder(n);
    const header = new Uint8Array(4);
    writeFrameHeader(header, n);
    d.push(header);
    const one = new Uint8Array([7]);
    for (let i = 0; i < n; i++) d.push(one);
    const body = d.next();
    expect(body?.length).toBe(n);
    expect(body?.every((x) => x === 7)).toBe(true);
  });
});
