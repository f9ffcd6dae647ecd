// Feeds well over 100,000 random and mutated frames into a live NetBus listener, before and after
// authentication, then checks that the listener still serves a legitimate peer and that nothing
// escaped as an unhandled rejection or exception.
import { afterAll, describe, expect, it } from "vitest";
import type { Envelope } from "../envelope.js";
import { account, makeCodec, sampleUpdateEnvelope } from "../fixtures.test.helper.js";
import { MessageType } from "../messages.js";
import {
  eventually,
  netNodes,
  rawDial,
  rawSocket,
  recordingLogger,
  socketDir,
} from "./net-fixtures.test.helper.js";

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
console.log(`net-fuzz.test seed: ${seed} (set FUZZ_SEED to reproduce)`);

/** xorshift32: fast, seeded, reproducible. */
function prng(s: number): () => number {
  let x = s || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const dir = socketDir();
afterAll(() => dir.remove());

describe("NetBus under fuzzing", () => {
  it("survives 110,000 random and mutated frames and keeps serving a legitimate peer", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtException", onUnhandled);
    const logger = recordingLogger();
    const [listener, good] = await netNodes(2, "tcp", dir, { logger, maxPendingHandshakes: 1024 });
    if (!listener || !good) throw new Error("setup");
    try {
      const inbox: Envelope[] = [];
      listener.bus.subscribe(listener.identity.address, (e) => void inbox.push(e));
      const rnd = prng(seed);
      const int = (n: number) => Math.floor(rnd() * n);
      const valid = makeCodec().encode(sampleUpdateEnvelope(account(200).address, listener.identity.address));

      const frame = (): Uint8Array => {
        switch (int(4)) {
          case 0: {
            // random body with a correct header
            const body = new Uint8Array(int(96));
            for (let i = 0; i < body.length; i++) body[i] = int(256);
            const out = new Uint8Array(4 + body.length);
            new DataView(out.buffer).setUint32(0, body.length);
            out.set(body, 4);
            return out;
          }
          case 1: {
            // valid frame with a few bytes of the body changed
            const out = Uint8Array.from(valid);
            for (let k = 1 + int(3); k > 0; k--) out[4 + int(out.length - 4)] = int(256);
            return out;
          }
          case 2: {
            // valid frame with a corrupted header (possibly huge)
            const out = Uint8Array.from(valid);
            out[int(4)] = int(256);
            return out;
          }
          default: {
            // raw noise, no framing at all
            const out = new Uint8Array(int(16));
            for (let i = 0; i < out.length; i++) out[i] = int(256);
            return out;
          }
        }
      };
      const batch = (n: number): Uint8Array => {
        const parts = Array.from({ length: n }, frame);
        return Buffer.concat(parts);
      };

      const FRAMES_PER_CONNECTION = 200;
      let frames = 0;
      // Unauthenticated: 500 connections, 50 at a time.
      for (let wave = 0; wave < 10; wave++) {
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            const s = await rawSocket(listener.at);
            const closed = new Promise((r) => s.once("close", r));
            s.on("error", () => {});
            s.resume(); // read (and discard) what the listener answers, so its end is seen
            s.end(batch(FRAMES_PER_CONNECTION));
            frames += FRAMES_PER_CONNECTION;
            await closed;
          }),
        );
      }
      // Authenticated: 50 peers, each sending mutated frames after a successful handshake.
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const conn = await rawDial(listener.at, account(200 + i), listener.identity.address);
          conn.socket.on("error", () => {});
          conn.socket.end(batch(FRAMES_PER_CONNECTION));
          frames += FRAMES_PER_CONNECTION;
          await conn.closed;
        }),
      );
      expect(frames).toBeGreaterThanOrEqual(100_000);
      expect(logger.lines.some((l) => /DecodeError|FrameTooLargeError/.test(l))).toBe(true);

      // The listener still accepts and serves a legitimate peer.
      const before = inbox.length;
      await good.bus.publish({
        sender: good.identity.address,
        recipient: listener.identity.address,
        message: {
          type: MessageType.ChannelProposalRej,
          proposalId: new Uint8Array(32),
          reason: "still alive",
        },
      });
      await eventually(() => inbox.some((e, i) => i >= before && e.sender.equals(good.identity.address)));
      // Whatever was delivered came from an authenticated sender under its own address.
      for (const e of inbox) expect(e.recipient.equals(listener.identity.address)).toBe(true);
      await eventually(() => listener.bus.socketCount === 1);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      process.off("uncaughtException", onUnhandled);
      await Promise.all([listener.bus.close(), good.bus.close()]);
    }
  }, 60_000);
});
