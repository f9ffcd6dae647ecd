import { connect, type Socket } from "node:net";
import {
  ManualClock,
  SimAsset,
  SimChannelBackend,
  SimLedger,
  SimWallet,
  selectSecp256k1,
} from "@perun-ts/backend-sim";
import { type Channel, Client, ledgerChannelProposal } from "@perun-ts/client";
import { AppRegistry, transfer } from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { AddressBook, EnvelopeCodec, type NetAddress, NetBus } from "@perun-ts/wire";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rng } from "./attacks.js";
import { RejectionMonitor } from "./rejection-monitor.js";

// GARBAGE_RUNS / GARBAGE_SEED to scale or replay.
const runs = Number(process.env.GARBAGE_RUNS ?? 25);
const seed = Number(process.env.GARBAGE_SEED ?? Date.now() % 2 ** 31);

/** What an unauthenticated attacker writes to the honest party's listening socket. */
type Garbage =
  | { readonly kind: "bytes"; readonly seed: number; readonly length: number }
  | { readonly kind: "hugeHeader"; readonly length: number }
  | { readonly kind: "frames"; readonly seed: number; readonly count: number }
  | { readonly kind: "truncated"; readonly seed: number }
  | { readonly kind: "silent" };

const garbageArb: fc.Arbitrary<Garbage> = fc.oneof(
  fc.record({
    kind: fc.constant("bytes" as const),
    seed: fc.nat(),
    length: fc.integer({ min: 1, max: 4096 }),
  }),
  fc.record({
    kind: fc.constant("hugeHeader" as const),
    length: fc.integer({ min: 1 << 20, max: 0xffff_ffff }),
  }),
  fc.record({ kind: fc.constant("frames" as const), seed: fc.nat(), count: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant("truncated" as const), seed: fc.nat() }),
  fc.constant({ kind: "silent" as const }),
);

function garbageBytes(g: Garbage): Uint8Array {
  switch (g.kind) {
    case "bytes": {
      const r = rng(g.seed);
      return Uint8Array.from({ length: g.length }, () => Math.floor(r() * 256));
    }
    case "hugeHeader": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(0, g.length);
      return b;
    }
    case "frames": {
      // Well-formed length prefixes around random bodies (msgpack-ish garbage).
      const r = rng(g.seed);
      const parts: number[] = [];
      for (let i = 0; i < g.count; i++) {
        const len = Math.floor(r() * 200);
        parts.push(len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
        for (let j = 0; j < len; j++) parts.push(Math.floor(r() * 256));
      }
      return Uint8Array.from(parts);
    }
    case "truncated": {
      // A header announcing more than is ever sent.
      const r = rng(g.seed);
      return Uint8Array.from([0, 0, 1, 0, ...Array.from({ length: 10 }, () => Math.floor(r() * 256))]);
    }
    case "silent":
      return new Uint8Array(0);
  }
}

function openSocket(at: NetAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (!("port" in at)) {
      reject(new Error("TCP address expected"));
      return;
    }
    const s = connect(at.port, at.host, () => resolve(s));
    s.on("error", () => {}); // the honest side may reset us; that is the point
    s.once("error", reject);
  });
}

describe("garbage frames over NetBus", () => {
  const monitor = new RejectionMonitor();
  beforeAll(() => {
    monitor.install();
  });
  afterAll(() => {
    monitor.uninstall();
  });

  it(`${runs} rounds of unauthenticated garbage do not disturb an open channel`, async () => {
    console.log(`garbage frames: seed ${seed}, ${runs} rounds`);
    const secp256k1 = selectSecp256k1({ prefer: "native" });
    const backend = new SimChannelBackend({ secp256k1 });
    const apps = new AppRegistry();
    const clock = new ManualClock(1_000n);
    const ledger = new SimLedger({ backend, clock });
    const asset = new SimAsset(1n);
    const book = new AddressBook();
    const make = async () => {
      const wallet = new SimWallet({ secp256k1 });
      const wire = wallet.newAccount();
      const participant = wallet.newAccount();
      ledger.mint(participant.address, asset, 1_000n);
      const bus = new NetBus({
        identity: wire,
        verifySignature: (signer, data, sig) => backend.verifyData(signer, data, sig),
        codec: new EnvelopeCodec({ backend, apps }),
        addressBook: book,
        handshakeTimeoutMs: 200,
      });
      const at = await bus.listen({ host: "127.0.0.1", port: 0 });
      book.set(wire.address, at);
      const adjudicator = ledger.adjudicator();
      const watcher = new LocalWatcher({ adjudicator, account: participant });
      const client = new Client({
        identity: wire,
        bus,
        backend,
        wallet,
        funder: ledger.funder(),
        adjudicator,
        watcher,
        apps,
      });
      client.handle({
        onProposal: async (_p, r) => {
          await r.accept({ participant: participant.address });
        },
        onUpdate: async (_c, _s, _u, r) => {
          await r.accept();
        },
      });
      return { wire, participant, bus, at, client, watcher };
    };
    const honest = await make();
    const peer = await make();
    const sockets: Socket[] = [];
    try {
      const accepted = new Promise<Channel>((resolve) => {
        const off = peer.client.onNewChannel((c) => {
          off();
          resolve(c);
        });
      });
      const h = await honest.client.proposeChannel(
        ledgerChannelProposal({
          challengeDuration: 60n,
          participant: honest.participant.address,
          initBals: { assets: [asset], balances: [[100n, 100n]], locked: [] },
          peers: [honest.wire.address, peer.wire.address],
        }),
        { signal: AbortSignal.timeout(10_000) },
      );
      const p = await accepted;
      let expected = 100n;
      let frames = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(garbageArb, { minLength: 1, maxLength: 4 }), async (garbage) => {
          for (const g of garbage) {
            const s = await openSocket(honest.at);
            sockets.push(s);
            const bytes = garbageBytes(g);
            if (bytes.length > 0) s.write(bytes);
            frames++;
          }
          // The channel keeps working both ways while the garbage is being processed.
          const pay = (from: number, amount: bigint) => (st: Channel["state"]) => ({
            ...st,
            allocation: transfer(st.allocation, from, from ^ 1, [amount]),
          });
          await h.update(pay(0, 2n), { signal: AbortSignal.timeout(5_000) });
          await p.update(pay(1, 1n), { signal: AbortSignal.timeout(5_000) });
          expected -= 1n;
          expect(h.state.allocation.balances[0]?.[0]).toBe(expected);
          expect(p.state.version).toBe(h.state.version);
          await monitor.check("while garbage was sent");
        }),
        { numRuns: runs, seed, endOnFailure: true },
      );
      await h.update((s) => ({ ...s, isFinal: true }), { signal: AbortSignal.timeout(5_000) });
      await Promise.all([h.settle(), p.settle({ secondary: true })]);
      expect(ledger.balanceOf(honest.participant.address, asset)).toBe(900n + expected);
      expect(ledger.balanceOf(peer.participant.address, asset)).toBe(900n + 200n - expected);
      console.log(
        `garbage frames: ${frames} hostile connections, channel intact at version ${h.state.version}`,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await honest.client.close();
      await peer.client.close();
      await honest.watcher.close();
      await peer.watcher.close();
      await honest.bus.close();
      await peer.bus.close();
    }
    await monitor.check("after closing");
  }, 120_000);
});
