import { Encoder } from "@msgpack/msgpack";
import { DecodeError, ValidationError } from "@perun-ts/core";
import { beforeAll, describe, expect, it } from "vitest";
import { EnvelopeCodec } from "./envelope-codec.js";
import { FrameTooLargeError } from "./errors.js";
import {
  account,
  apps,
  backend,
  installEqualityTesters,
  makeCodec,
  Phase,
  sampleUpdateEnvelope,
} from "./fixtures.test.helper.js";
import { protocolMessageToWire } from "./message-codec.js";
import { MessageRegistry } from "./message-registry.js";
import { MessageType } from "./messages.js";

beforeAll(() => installEqualityTesters());

const a = account(0).address;
const b = account(1).address;
const raw = new Encoder();

/** A frame around an arbitrary msgpack value. */
function frameOf(value: unknown): Uint8Array {
  const body = raw.encode(value);
  const out = new Uint8Array(body.length + 4);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e.reason;
    throw e;
  }
  throw new Error("expected a DecodeError");
}

describe("EnvelopeCodec", () => {
  const codec = makeCodec();

  it("compares addresses by bytes in tests (the equality tester is effective)", () => {
    expect(a).not.toEqual(b);
    expect(a).toEqual(account(0).address);
  });

  it("round-trips a channel update and keeps the frame header consistent", () => {
    const env = sampleUpdateEnvelope(a, b);
    const frame = codec.encode(env);
    expect(new DataView(frame.buffer).getUint32(0)).toBe(frame.length - 4);
    expect(codec.decodeFrame(frame)).toEqual(env);
  });

  it("rejects an unknown message type with a reason", () => {
    expect(reasonOf(() => codec.decodeFrame(frameOf([a.bytes(), b.bytes(), 17, []])))).toMatch(
      /unknown message type 17/,
    );
    expect(reasonOf(() => codec.decodeFrame(frameOf([a.bytes(), b.bytes(), -1, []])))).toMatch(/type/);
  });

  it("rejects undecodable addresses, wrong signature sizes and wrong field counts", () => {
    const env = codec.encode(sampleUpdateEnvelope(a, b));
    expect(codec.decodeFrame(env).message.type).toBe(MessageType.ChannelUpdate);
    expect(reasonOf(() => codec.decodeFrame(frameOf([new Uint8Array(19), b.bytes(), 2, ["x"]])))).toMatch(
      /sender/,
    );
    const acc = (sig: Uint8Array) =>
      frameOf([
        a.bytes(),
        b.bytes(),
        MessageType.ChannelUpdateAcc,
        [new Uint8Array(32), new Uint8Array([1]), sig],
      ]);
    expect(codec.decodeFrame(acc(new Uint8Array(65))).message.type).toBe(MessageType.ChannelUpdateAcc);
    expect(reasonOf(() => codec.decodeFrame(acc(new Uint8Array(64))))).toMatch(/sig: expected 65 bytes/);
    expect(reasonOf(() => codec.decodeFrame(frameOf([a.bytes(), b.bytes(), 2, []])))).toMatch(
      /expected 1 fields/,
    );
    expect(reasonOf(() => codec.decodeFrame(frameOf([a.bytes(), b.bytes(), 2])))).toMatch(
      /expected 4 fields/,
    );
  });

  it("rejects non-canonical integers, maps and trailing bytes", () => {
    const acc = frameOf([
      a.bytes(),
      b.bytes(),
      MessageType.ChannelUpdateAcc,
      [new Uint8Array(32), new Uint8Array([0, 1]), new Uint8Array(65)],
    ]);
    expect(reasonOf(() => codec.decodeFrame(acc))).toMatch(/leading zero/);
    expect(reasonOf(() => codec.decodeFrame(frameOf({ sender: 1 })))).toMatch(/map/);
    const body = raw.encode([a.bytes(), b.bytes(), 2, ["x"]]);
    const padded = new Uint8Array(body.length + 5);
    new DataView(padded.buffer).setUint32(0, body.length + 1);
    padded.set(body, 4);
    expect(reasonOf(() => codec.decodeFrame(padded))).toMatch(/trailing/);
  });

  it("round-trips a channel sync request and reply and decodes the reply flag strictly", () => {
    const update = sampleUpdateEnvelope(a, b).message;
    if (update.type !== MessageType.ChannelUpdate) throw new Error("fixture changed");
    const currentTx = { state: update.state, sigs: [new Uint8Array(65).fill(9), undefined] };
    for (const reply of [false, true]) {
      const env = {
        sender: a,
        recipient: b,
        message: { type: MessageType.ChannelSync, phase: Phase.Signing, currentTx, reply } as const,
      };
      expect(codec.decodeFrame(codec.encode(env))).toEqual(env);
    }
    const fields = protocolMessageToWire(
      { type: MessageType.ChannelSync, phase: Phase.Signing, currentTx, reply: true },
      65,
    );
    const frame = (f: unknown[]) => frameOf([a.bytes(), b.bytes(), MessageType.ChannelSync, f]);
    expect(codec.decodeFrame(frame(fields)).message).toMatchObject({ reply: true });
    // The format without the flag is not accepted, and the flag is no truthy integer or nil.
    expect(reasonOf(() => codec.decodeFrame(frame(fields.slice(0, 2))))).toMatch(/expected 3 fields/);
    expect(reasonOf(() => codec.decodeFrame(frame([...fields.slice(0, 2), 1])))).toMatch(
      /reply: expected a boolean/,
    );
    expect(reasonOf(() => codec.decodeFrame(frame([...fields.slice(0, 2), null])))).toMatch(
      /reply: expected a boolean/,
    );
  });

  it("rejects a ledger proposal with a single peer, on encode and on decode", () => {
    const env = sampleUpdateEnvelope(a, b);
    if (env.message.type !== MessageType.ChannelUpdate) throw new Error("fixture");
    const proposal = {
      type: MessageType.LedgerChannelProposal as const,
      proposalId: new Uint8Array(32),
      challengeDuration: 10n,
      nonceShare: new Uint8Array(32),
      app: env.message.state.app,
      initData: new Uint8Array(),
      initBals: env.message.state.allocation,
      fundingAgreement: [[10n, 20n]],
      participant: a,
      peers: [a],
    };
    expect(() => codec.encode({ sender: a, recipient: b, message: proposal })).toThrow(ValidationError);
    const ok = codec.encode({ sender: a, recipient: b, message: { ...proposal, peers: [a, b] } });
    expect(codec.decodeFrame(ok).message).toEqual({ ...proposal, peers: [a, b] });
    // The same body with one peer, built below the encoder's checks.
    const body = protocolMessageToWire({ ...proposal, peers: [a, b] }, 65);
    body[body.length - 1] = [a.bytes()];
    expect(
      reasonOf(() =>
        codec.decodeFrame(frameOf([a.bytes(), b.bytes(), MessageType.LedgerChannelProposal, body])),
      ),
    ).toMatch(/peers: expected 2\.\.1024 elements, got 1/);
  });

  it("refuses frames over the maximum on encode and before allocating on decode", () => {
    const small = makeCodec(64);
    expect(() => small.encode(sampleUpdateEnvelope(a, b))).toThrow(FrameTooLargeError);
    const frames = small.newFrameDecoder();
    frames.push(new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
    expect(() => frames.next()).toThrow(FrameTooLargeError);
  });

  it("reports truncation", () => {
    const frame = codec.encode(sampleUpdateEnvelope(a, b));
    expect(reasonOf(() => codec.decodeFrame(frame.subarray(0, frame.length - 1)))).toMatch(/truncated/);
    expect(reasonOf(() => codec.decodeBody(frame.subarray(4, frame.length - 3)))).toMatch(
      /truncated|declares/,
    );
  });

  it("carries application messages registered above the reserved range", () => {
    const registry = new MessageRegistry().register<string>({
      type: 100,
      name: "chat",
      encode: (text) => [text],
      decode: (v) => {
        if (!Array.isArray(v) || typeof v[0] !== "string") throw new Error("not a chat message");
        return v[0];
      },
    });
    expect(() => registry.register({ type: 16, name: "x", encode: () => 0, decode: () => 0 })).toThrow(
      ValidationError,
    );
    expect(() => registry.register({ type: 100, name: "x", encode: () => 0, decode: () => 0 })).toThrow(
      ValidationError,
    );
    const appCodec = new EnvelopeCodec({ backend, apps, registry });
    const env = {
      sender: a,
      recipient: b,
      message: { type: "application" as const, appType: 100, payload: "hi" },
    };
    expect(appCodec.decodeFrame(appCodec.encode(env))).toEqual(env);
    expect(reasonOf(() => appCodec.decodeFrame(frameOf([a.bytes(), b.bytes(), 100, [7]])))).toMatch(
      /chat: not a chat message/,
    );
    // Without the registration the type is unknown, on both sides.
    expect(() => codec.encode(env)).toThrow(ValidationError);
    expect(reasonOf(() => codec.decodeFrame(appCodec.encode(env)))).toMatch(/unknown message type 100/);
  });
});
