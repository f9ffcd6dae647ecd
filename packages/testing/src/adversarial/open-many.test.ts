// Regression (issue 13): opening many channels at once over TCP lost version-0 signatures (early
// answers were cached up to a fixed 128 and the rest dropped silently) and the responder's
// `accept()` then waited forever. Now the cache grows with the openings in flight, and an opening
// that never gets the peer's signature fails with RequestTimedOutError.
import {
  ManualClock,
  SimAsset,
  SimChannelBackend,
  SimLedger,
  SimWallet,
  selectSecp256k1,
} from "@perun-ts/backend-sim";
import { type Channel, Client, ledgerChannelProposal } from "@perun-ts/client";
import { type Address, AppRegistry, jsonLogger, RequestTimedOutError } from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { AddressBook, type Bus, EnvelopeCodec, LocalBus, MessageType, NetBus } from "@perun-ts/wire";
import { afterEach, describe, expect, it } from "vitest";

const secp256k1 = selectSecp256k1({ prefer: "native" });
const backend = new SimChannelBackend({ secp256k1 });
const apps = new AppRegistry();
const asset = new SimAsset(1n);
let closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  closers = [];
});

interface Party {
  readonly client: Client;
  readonly wire: Address;
  readonly participant: Address;
}

function party(
  bus: Bus,
  wire: ReturnType<SimWallet["newAccount"]>,
  wallet: SimWallet,
  ledger: SimLedger,
  logs: string[],
  opts: { openingTimeoutMs?: number; handle?: boolean } = {},
): Party {
  const participant = wallet.newAccount();
  ledger.mint(participant.address, asset, 10_000_000n);
  const adjudicator = ledger.adjudicator();
  const client = new Client({
    identity: wire,
    bus,
    backend,
    wallet,
    funder: ledger.funder(),
    adjudicator,
    watcher: new LocalWatcher({ adjudicator, account: participant }),
    apps,
    logger: jsonLogger("warn", (l) => logs.push(l)),
    ...(opts.openingTimeoutMs === undefined ? {} : { openingTimeoutMs: opts.openingTimeoutMs }),
  });
  if (opts.handle !== false)
    client.handle({
      onProposal: async (_p, r) => {
        await r.accept({ participant: participant.address });
      },
      onUpdate: async (_c, _s, _u, r) => {
        await r.accept();
      },
    });
  closers.push(() => client.close());
  return { client, wire: wire.address, participant: participant.address };
}

describe("opening channels", () => {
  it("opens 600 channels at once over TCP: every version-0 signature arrives", async () => {
    const ledger = new SimLedger({ backend, clock: new ManualClock(1000n) });
    const book = new AddressBook();
    const logs: string[] = [];
    const make = async (): Promise<Party> => {
      const wallet = new SimWallet({ secp256k1 });
      const wire = wallet.newAccount();
      const bus = new NetBus({
        identity: wire,
        verifySignature: (s, d, g) => backend.verifyData(s, d, g),
        codec: new EnvelopeCodec({ backend, apps }),
        addressBook: book,
      });
      book.set(wire.address, await bus.listen({ host: "127.0.0.1", port: 0 }));
      closers.push(() => bus.close());
      return party(bus, wire, wallet, ledger, logs);
    };
    const hub = await make();
    const peer = await make();
    const n = Number(process.env.OPEN_MANY ?? 600);
    const results = await Promise.allSettled(
      Array.from({ length: n }, () =>
        hub.client.proposeChannel(
          ledgerChannelProposal({
            challengeDuration: 60n,
            participant: hub.participant,
            initBals: { assets: [asset], balances: [[10n, 10n]], locked: [] },
            peers: [hub.wire, peer.wire],
          }),
          { signal: AbortSignal.timeout(30_000) },
        ),
      ),
    );
    const failed = results.filter((r) => r.status === "rejected").map((r) => String(r.reason));
    expect(failed).toEqual([]);
    expect(hub.client.channels.length).toBe(n);
    for (let i = 0; i < 500 && peer.client.channels.length < n; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(peer.client.channels.length).toBe(n);
    expect(logs.filter((l) => l.includes("too many cached"))).toEqual([]);
  }, 60_000);

  it("accept() fails with RequestTimedOutError when the proposer never signs version 0", async () => {
    const ledger = new SimLedger({ backend, clock: new ManualClock(1000n) });
    const bus = new LocalBus();
    closers.push(async () => bus.close());
    const wallet = new SimWallet({ secp256k1 });
    const responder = party(bus, wallet.newAccount(), wallet, ledger, [], {
      openingTimeoutMs: 200,
      handle: false,
    });
    let accepted: Promise<Channel> | undefined;
    responder.client.handle({
      onProposal: async (_p, r) => {
        accepted = r.accept({ participant: responder.participant });
        accepted.catch(() => {});
      },
      onUpdate: async (_c, _s, _u, r) => {
        await r.reject("no");
      },
    });
    // A raw proposer: it proposes, takes the acceptance and never sends its version-0 signature.
    const rawWallet = new SimWallet({ secp256k1 });
    const raw = rawWallet.newAccount();
    const rawParticipant = rawWallet.newAccount();
    const got: (MessageType | "application")[] = [];
    const unsubscribe = bus.subscribe(raw.address, (env) => {
      got.push(env.message.type);
    });
    closers.push(async () => unsubscribe());
    await bus.publish({
      sender: raw.address,
      recipient: responder.wire,
      message: ledgerChannelProposal({
        challengeDuration: 60n,
        participant: rawParticipant.address,
        initBals: { assets: [asset], balances: [[10n, 10n]], locked: [] },
        peers: [raw.address, responder.wire],
      }),
    });
    for (let i = 0; i < 200 && !accepted; i++) await new Promise((r) => setTimeout(r, 5));
    await expect(accepted).rejects.toBeInstanceOf(RequestTimedOutError);
    expect(got).toContain(MessageType.LedgerChannelProposalAcc);
    expect(responder.client.channels).toEqual([]);
  });
});
