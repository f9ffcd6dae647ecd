import { createServer, type Server } from "node:net";
import { AbortError, ValidationError } from "@perun-ts/core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Envelope } from "../envelope.js";
import { AuthenticationError, BusClosedError, PeerUnreachableError } from "../errors.js";
import {
  account,
  installEqualityTesters,
  makeCodec,
  sampleUpdateEnvelope,
  verifySignature,
} from "../fixtures.test.helper.js";
import { type Message, MessageType } from "../messages.js";
import { Receiver } from "../receiver.js";
import { handshakeTranscript } from "./handshake.js";
import { AddressBook, type NetAddress } from "./net-address.js";
import { NetBus } from "./net-bus.js";
import {
  eventually,
  listenAddress,
  netNodes,
  rawDial,
  rawSocket,
  recordingLogger,
  socketDir,
  type Transport,
} from "./net-fixtures.test.helper.js";
import type { WireIdentity } from "./wire-identity.js";

beforeAll(() => installEqualityTesters());

const dir = socketDir();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function rej(reason: string): Message {
  return { type: MessageType.ChannelProposalRej, proposalId: new Uint8Array(32), reason };
}

async function nodes(n: number, transport: Transport, opts: Parameters<typeof netNodes>[3] = {}) {
  const ns = await netNodes(n, transport, dir, opts);
  cleanups.push(() => Promise.all(ns.map((x) => x.bus.close())).then(() => undefined));
  return ns;
}

/** A TCP server that accepts and then never answers (a hung peer). */
async function silentServer(): Promise<{ at: NetAddress; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, () => {});
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const a = server.address();
  if (a === null || typeof a === "string") throw new Error("no port");
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { at: { host: "127.0.0.1", port: a.port }, server };
}

function collect(): { got: Envelope[]; put: (e: Envelope) => void } {
  const got: Envelope[] = [];
  return { got, put: (e) => void got.push(e) };
}

describe.each(["tcp", "unix"] as const)("NetBus over %s", (transport) => {
  it("delivers an envelope exactly and keeps one connection for both directions", async () => {
    const [a, b] = await nodes(2, transport);
    if (!a || !b) throw new Error("setup");
    const atB = collect();
    const atA = collect();
    b.bus.subscribe(b.identity.address, atB.put);
    a.bus.subscribe(a.identity.address, atA.put);
    const env = sampleUpdateEnvelope(a.identity.address, b.identity.address);
    await a.bus.publish(env);
    await eventually(() => atB.got.length === 1);
    expect(atB.got[0]).toEqual(env);
    await b.bus.publish({ sender: b.identity.address, recipient: a.identity.address, message: rej("back") });
    await eventually(() => atA.got.length === 1);
    expect(a.bus.connections()).toHaveLength(1);
    expect(b.bus.connections()).toHaveLength(1);
    expect(a.bus.socketCount).toBe(1);
  });

  it("reconnects on the next publish after the remote restarts", async () => {
    const [a, b] = await nodes(2, transport);
    if (!a || !b) throw new Error("setup");
    const first = collect();
    b.bus.subscribe(b.identity.address, first.put);
    await a.bus.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("1") });
    await eventually(() => first.got.length === 1);
    await b.bus.close();
    await eventually(() => a.bus.connections().length === 0);

    const restarted = new NetBus({
      identity: b.identity,
      verifySignature,
      codec: makeCodec(),
      addressBook: a.bus.addressBook,
    });
    cleanups.push(() => restarted.close());
    const at = await restarted.listen("path" in b.at ? b.at : { host: "127.0.0.1", port: b.at.port });
    a.bus.addressBook.set(b.identity.address, at);
    const second = collect();
    restarted.subscribe(b.identity.address, second.put);
    await a.bus.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("2") });
    await eventually(() => second.got.length === 1);
    expect(second.got[0]?.message).toEqual(rej("2"));
  });

  it("closes only the offending connection on garbage, oversized, truncated and unknown-type frames", async () => {
    const logger = recordingLogger();
    const [l, good, bad] = await nodes(3, transport, { logger });
    if (!l || !good || !bad) throw new Error("setup");
    const inbox = collect();
    l.bus.subscribe(l.identity.address, inbox.put);
    await good.bus.publish({
      sender: good.identity.address,
      recipient: l.identity.address,
      message: rej("before"),
    });
    await eventually(() => inbox.got.length === 1);

    const frame = (body: number[]) => {
      const out = new Uint8Array(4 + body.length);
      new DataView(out.buffer).setUint32(0, body.length);
      out.set(body, 4);
      return out;
    };
    // Unknown type: rewrite the type field of a valid envelope (fixarray, two 22-byte addresses).
    const valid = makeCodec().encode({
      sender: bad.identity.address,
      recipient: l.identity.address,
      message: rej("x"),
    });
    const typeAt = 4 + 1 + 22 + 22;
    expect(valid[typeAt]).toBe(MessageType.ChannelProposalRej);
    const unknown = Uint8Array.from(valid);
    unknown[typeAt] = 0x7f;
    const attacks: [string, Uint8Array, RegExp][] = [
      ["garbage", frame([0xc1, 1, 2, 3]), /DecodeError: .*reserved type byte/],
      ["oversized", new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2]), /FrameTooLargeError/],
      ["unknown type", unknown, /DecodeError: .*unknown message type 127/],
    ];
    for (const [name, bytes, error] of attacks) {
      // Before authentication.
      const raw = await rawSocket(l.at);
      raw.resume();
      const closed = new Promise((r) => raw.once("close", r));
      raw.write(bytes);
      await closed;
      // After authentication.
      const conn = await rawDial(l.at, bad.identity, l.identity.address);
      conn.socket.write(bytes);
      await conn.closed;
      expect(
        logger.lines.some((x) => error.test(x)),
        `${name}: ${logger.lines.join("\n")}`,
      ).toBe(true);
    }
    // A peer that disappears in the middle of a frame.
    const conn = await rawDial(l.at, bad.identity, l.identity.address);
    conn.socket.end(valid.subarray(0, valid.length - 3));
    await conn.closed;
    await eventually(() => logger.lines.some((x) => /stream ended inside a frame/.test(x)));

    // The listener and the good peer's connection still work; nothing bogus was delivered.
    await good.bus.publish({
      sender: good.identity.address,
      recipient: l.identity.address,
      message: rej("after"),
    });
    await eventually(() => inbox.got.length === 2);
    expect(
      inbox.got.map((e) => (e.message.type === MessageType.ChannelProposalRej ? e.message.reason : "?")),
    ).toEqual(["before", "after"]);
    expect(good.bus.connections()).toHaveLength(1);
  });

  it("refuses an impersonator that claims another's address without its key", async () => {
    const logger = recordingLogger();
    const [l, victim] = await nodes(2, transport, { logger });
    if (!l || !victim) throw new Error("setup");
    const inbox = collect();
    l.bus.subscribe(l.identity.address, inbox.put);
    const mallory = account(50);
    const impostor: WireIdentity = { address: victim.identity.address, signData: (d) => mallory.signData(d) };
    await expect(rawDial(l.at, impostor, l.identity.address)).rejects.toThrow(AuthenticationError);
    await expect(rawDial(l.at, impostor, l.identity.address)).rejects.toThrow(/did not prove control/);
    expect(l.bus.connections()).toHaveLength(0);
    expect(inbox.got).toHaveLength(0);
  });

  it("drops an authenticated peer that sends an envelope under another sender address", async () => {
    const [l, victim, mallory] = await nodes(3, transport);
    if (!l || !victim || !mallory) throw new Error("setup");
    const inbox = collect();
    l.bus.subscribe(l.identity.address, inbox.put);
    const conn = await rawDial(l.at, mallory.identity, l.identity.address);
    conn.write(
      makeCodec().encode({
        sender: victim.identity.address,
        recipient: l.identity.address,
        message: rej("spoof"),
      }),
    );
    await conn.closed;
    expect(inbox.got).toHaveLength(0);
    // And a NetBus refuses to send under a foreign sender in the first place.
    await expect(
      mallory.bus.publish({
        sender: victim.identity.address,
        recipient: l.identity.address,
        message: rej("x"),
      }),
    ).rejects.toThrow(ValidationError);
  });

  it("rejects a listener with the wrong key or at the wrong address with AuthenticationError", async () => {
    const [a, b, c] = await nodes(3, transport);
    if (!a || !b || !c) throw new Error("setup");
    // Address mismatch: the book sends A to C's listener when A wants B; C answers as C.
    const book = new AddressBook([[b.identity.address, c.at]]);
    const misdirected = new NetBus({
      identity: a.identity,
      verifySignature,
      codec: makeCodec(),
      addressBook: book,
    });
    cleanups.push(() => misdirected.close());
    await expect(
      misdirected.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("x") }),
    ).rejects.toThrow(AuthenticationError);

    // Wrong key: a listener that claims B's address but signs with another key.
    const fake = new NetBus({
      identity: { address: b.identity.address, signData: (d) => account(60).signData(d) },
      verifySignature,
      codec: makeCodec(),
    });
    cleanups.push(() => fake.close());
    const fakeAt = await fake.listen(listenAddress(transport, dir, `fake-${Math.random()}`));
    const book2 = new AddressBook([[b.identity.address, fakeAt]]);
    const dialer = new NetBus({
      identity: a.identity,
      verifySignature,
      codec: makeCodec(),
      addressBook: book2,
    });
    cleanups.push(() => dialer.close());
    await expect(
      dialer.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("x") }),
    ).rejects.toThrow(/listener did not prove control/);
  });

  it("rejects a replayed handshake proof", async () => {
    const [l, d] = await nodes(2, transport);
    if (!l || !d) throw new Error("setup");
    // Record what an honest dialer signs in one session.
    const signed: { data: Uint8Array; sig: Uint8Array }[] = [];
    const recorder: WireIdentity = {
      address: d.identity.address,
      signData: async (data) => {
        const sig = await d.identity.signData(data);
        signed.push({ data, sig });
        return sig;
      },
    };
    const honest = await rawDial(l.at, recorder, l.identity.address);
    honest.destroy();
    const old = signed[0];
    if (!old) throw new Error("nothing recorded");
    // Replay it in a new session: it is over the old listener challenge, so it must be refused.
    const replayer: WireIdentity = { address: d.identity.address, signData: async () => old.sig };
    await expect(rawDial(l.at, replayer, l.identity.address)).rejects.toThrow(AuthenticationError);
    // The transcript indeed binds the challenges: a fresh one differs from the recorded one.
    const t = handshakeTranscript(
      "dialer",
      d.identity.address,
      l.identity.address,
      new Uint8Array(32),
      new Uint8Array(32),
    );
    expect(Buffer.from(t).equals(Buffer.from(old.data))).toBe(false);
  });

  it("reports every authenticated (re)connection to onPeerConnected, on both sides", async () => {
    const [a, b] = await nodes(2, transport);
    if (!a || !b) throw new Error("setup");
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    a.bus.onPeerConnected(() => {
      throw new Error("a failing listener must not hurt the bus");
    });
    const offA = a.bus.onPeerConnected((peer) => seenByA.push(peer.toString()));
    b.bus.onPeerConnected((peer) => seenByB.push(peer.toString()));
    const atB = collect();
    b.bus.subscribe(b.identity.address, atB.put);
    await a.bus.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("1") });
    await eventually(() => atB.got.length === 1 && seenByB.length === 1);
    expect(seenByA).toEqual([b.identity.address.toString()]);
    expect(seenByB).toEqual([a.identity.address.toString()]);
    // Reusing the open connection is no new connection.
    await a.bus.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("2") });
    await eventually(() => atB.got.length === 2);
    expect(seenByA).toHaveLength(1);

    // Drop the connection (B restarts), reconnect: A's listener fires again.
    await b.bus.close();
    await eventually(() => a.bus.connections().length === 0);
    const restarted = new NetBus({
      identity: b.identity,
      verifySignature,
      codec: makeCodec(),
      addressBook: a.bus.addressBook,
    });
    cleanups.push(() => restarted.close());
    const seenByRestarted: string[] = [];
    restarted.onPeerConnected((peer) => seenByRestarted.push(peer.toString()));
    const at = await restarted.listen("path" in b.at ? b.at : { host: "127.0.0.1", port: b.at.port });
    a.bus.addressBook.set(b.identity.address, at);
    const second = collect();
    restarted.subscribe(b.identity.address, second.put);
    await a.bus.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("3") });
    await eventually(() => second.got.length === 1 && seenByRestarted.length === 1);
    expect(seenByA).toEqual([b.identity.address.toString(), b.identity.address.toString()]);
    expect(seenByRestarted).toEqual([a.identity.address.toString()]);
    expect(seenByB).toHaveLength(1);
    offA();
  });

  it("keeps exactly one connection, the one dialed by the greater address, when both dial at once", async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = await nodes(2, transport, { offset: 10 + 2 * round });
      if (!a || !b) throw new Error("setup");
      const atA = collect();
      const atB = collect();
      a.bus.subscribe(a.identity.address, atA.put);
      b.bus.subscribe(b.identity.address, atB.put);
      await Promise.all([
        a.bus.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("a1") }),
        b.bus.publish({ sender: b.identity.address, recipient: a.identity.address, message: rej("b1") }),
      ]);
      await eventually(() => a.bus.socketCount === 1 && b.bus.socketCount === 1);
      const aGreater = a.identity.address.compare(b.identity.address) > 0;
      expect(a.bus.connections()).toEqual([{ peer: b.identity.address, dialedByUs: aGreater }]);
      expect(b.bus.connections()).toEqual([{ peer: a.identity.address, dialedByUs: !aGreater }]);
      // Nothing was lost on the closed connection, and the survivor works both ways.
      await a.bus.publish({ sender: a.identity.address, recipient: b.identity.address, message: rej("a2") });
      await b.bus.publish({ sender: b.identity.address, recipient: a.identity.address, message: rej("b2") });
      await eventually(() => atA.got.length === 2 && atB.got.length === 2);
      expect(a.bus.socketCount).toBe(1);
      await Promise.all([a.bus.close(), b.bus.close()]);
    }
  });

  it("passes back-pressure from a slow receiver to the sender without losing or reordering", async () => {
    const [a, b] = await nodes(2, transport);
    if (!a || !b) throw new Error("setup");
    const receiver = new Receiver(2);
    b.bus.subscribe(b.identity.address, receiver);
    const n = 200;
    const sending = (async () => {
      for (let i = 0; i < n; i++) {
        await a.bus.publish({
          sender: a.identity.address,
          recipient: b.identity.address,
          message: rej(String(i)),
        });
      }
    })();
    const got: string[] = [];
    for (let i = 0; i < n; i++) {
      const e = await receiver.next();
      got.push(e.message.type === MessageType.ChannelProposalRej ? e.message.reason : "?");
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await sending;
    expect(got).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  });
});

describe("NetBus publish failures and close", () => {
  it("fails with PeerUnreachableError for an unknown or refusing peer", async () => {
    const [a] = await nodes(1, "tcp");
    if (!a) throw new Error("setup");
    const b = account(1).address;
    await expect(
      a.bus.publish({ sender: a.identity.address, recipient: b, message: rej("x") }),
    ).rejects.toThrow(PeerUnreachableError);
    // A port nobody listens on: reserve one and close it again.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    a.bus.addressBook.set(b, { host: "127.0.0.1", port });
    await expect(
      a.bus.publish({ sender: a.identity.address, recipient: b, message: rej("x") }),
    ).rejects.toThrow(PeerUnreachableError);
  });

  it("aborts a publish through its signal and rejects pending publishes on close, leaving no handles", async () => {
    const { at } = await silentServer();
    const baseline = process.getActiveResourcesInfo().length;
    const a = new NetBus({
      identity: account(0),
      verifySignature,
      codec: makeCodec(),
      addressBook: new AddressBook([[account(1).address, at]]),
    });
    const env = { sender: account(0).address, recipient: account(1).address, message: rej("x") };
    const ctl = new AbortController();
    const aborted = a.publish(env, { signal: ctl.signal });
    ctl.abort("caller gave up");
    await expect(aborted).rejects.toThrow(AbortError);
    const pending = expect(a.publish(env)).rejects.toThrow(BusClosedError);
    await eventually(() => a.socketCount === 1);
    await a.close();
    await pending;
    await expect(a.publish(env)).rejects.toThrow(BusClosedError);
    expect(a.socketCount).toBe(0);
    await eventually(() => process.getActiveResourcesInfo().length <= baseline);
  });

  it("refuses subscriptions for other addresses and double subscriptions", async () => {
    const [a] = await nodes(1, "tcp");
    if (!a) throw new Error("setup");
    expect(() => a.bus.subscribe(account(5).address, () => {})).toThrow(ValidationError);
    a.bus.subscribe(a.identity.address, () => {});
    expect(() => a.bus.subscribe(a.identity.address, () => {})).toThrow(ValidationError);
  });
});
