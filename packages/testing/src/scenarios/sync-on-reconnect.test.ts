import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { SimChannelBackend } from "@perun-ts/backend-sim";
import { type Channel, Client, ledgerChannelProposal } from "@perun-ts/client";
import { type Account, Phase, RequestTimedOutError } from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { AddressBook, EnvelopeCodec, MessageType, NetBus, PeerUnreachableError } from "@perun-ts/wire";
import { afterEach, expect, it } from "vitest";
import { INITIAL_LEDGER_BALANCE, pay, type ScenarioContext, withScenario } from "./party.js";
import { simScenarioSetup } from "./sim-setup.js";

/**
 * A TCP proxy in front of one listener, standing for the network path to it: `blackhole` lets
 * bytes vanish (written, never delivered), `cut` drops every connection and refuses new ones until
 * `restore`.
 */
class Link {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #mode: "up" | "blackhole" | "down" = "up";

  private constructor(port: number) {
    this.#server = createServer({ allowHalfOpen: false }, (client) => this.#accept(client, port));
  }

  static async to(port: number): Promise<{ link: Link; port: number }> {
    const link = new Link(port);
    const server = link.#server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const a = server.address();
    if (a === null || typeof a === "string") throw new Error("no port");
    return { link, port: a.port };
  }

  #accept(client: Socket, port: number): void {
    if (this.#mode === "down") {
      client.destroy();
      return;
    }
    const upstream = connect({ host: "127.0.0.1", port });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(from);
      from.on("data", (chunk: Buffer) => {
        if (this.#mode === "up") to.write(chunk);
      });
      from.on("error", () => {});
      from.on("close", () => {
        this.#sockets.delete(from);
        to.destroy();
      });
    }
  }

  blackhole(): void {
    this.#mode = "blackhole";
  }

  cut(): void {
    this.#mode = "down";
    for (const s of this.#sockets) s.destroy();
  }

  restore(): void {
    this.#mode = "up";
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

interface Peer {
  readonly wire: Account;
  readonly participant: Account;
  readonly bus: NetBus;
  readonly link: Link;
  readonly client: Client;
  readonly syncErrors: unknown[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A client on its own NetBus, reachable only through a `Link` (the book lists the link's port). */
async function peer(ctx: ScenarioContext, book: AddressBook): Promise<Peer> {
  const { wallet, newAccount } = ctx.setup.newWallet();
  const wire = await newAccount();
  const participant = await newAccount();
  await ctx.ledger.mint(participant.address, INITIAL_LEDGER_BALANCE);
  const backend = ctx.setup.backend;
  if (!(backend instanceof SimChannelBackend)) throw new Error("the sim backend is expected");
  const bus = new NetBus({
    identity: wire,
    verifySignature: (signer, data, sig) => backend.verifyData(signer, data, sig),
    codec: new EnvelopeCodec({ backend, apps: ctx.apps }),
    addressBook: book,
    retryDelayMs: 10,
  });
  const at = await bus.listen({ host: "127.0.0.1", port: 0 });
  if ("path" in at) throw new Error("tcp expected");
  const { link, port } = await Link.to(at.port);
  book.set(wire.address, { host: "127.0.0.1", port });
  const adjudicator = ctx.ledger.adjudicator();
  const watcher = new LocalWatcher({ adjudicator, account: participant });
  const client = new Client({
    identity: wire,
    bus,
    backend,
    wallet,
    funder: ctx.ledger.funder(),
    adjudicator,
    watcher,
    apps: ctx.apps,
    syncTimeoutMs: 5_000,
  });
  const syncErrors: unknown[] = [];
  client.onSyncError((e) => syncErrors.push(e));
  cleanups.push(async () => {
    await client.close();
    await watcher.close();
    await bus.close();
    await link.close();
  });
  return { wire, participant, bus, link, client, syncErrors };
}

async function eventually(cond: () => boolean, signal: AbortSignal): Promise<void> {
  while (!cond()) {
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 5));
  }
}

it("a pending update whose acceptance was lost resolves by the sync on reconnect (NetBus TCP)", async () => {
  await withScenario(simScenarioSetup({ name: "sync on reconnect" }), async (ctx) => {
    const book = new AddressBook();
    const alice = await peer(ctx, book);
    const bob = await peer(ctx, book);
    const links = [alice.link, bob.link];
    let dropOnUpdate = false;
    let accepted!: () => void;
    const bobAccepted = new Promise<void>((resolve) => {
      accepted = resolve;
    });
    alice.client.handle({
      onProposal: (_p, r) => r.reject("Alice accepts no proposals"),
      onUpdate: (_ch, _cur, _u, r) => r.accept(),
    });
    bob.client.handle({
      onProposal: async (_p, r) => {
        await r.accept({ participant: bob.participant.address });
      },
      onUpdate: async (_ch, _cur, _u, r) => {
        // Bob's acceptance is written to the socket but never arrives: the network fails.
        if (!dropOnUpdate) return r.accept();
        for (const l of links) l.blackhole();
        await r.accept();
        accepted();
      },
    });
    const bobsChannel = new Promise<Channel>((resolve) => {
      const off = bob.client.onNewChannel((ch) => {
        off();
        resolve(ch);
      });
    });
    const a = await alice.client.proposeChannel(
      ledgerChannelProposal({
        challengeDuration: ctx.setup.challengeDuration,
        participant: alice.participant.address,
        initBals: { assets: [ctx.ledger.asset], balances: [[100n, 100n]], locked: [] },
        peers: [alice.wire.address, bob.wire.address],
      }),
      { signal: ctx.signal },
    );
    const b = await bobsChannel;
    await a.update(pay(0, 1n), { signal: ctx.signal });
    assert.equal(b.state.version, 1n);

    // Update 2: Bob enables it, his acceptance is lost, the connection drops, Alice stops waiting.
    dropOnUpdate = true;
    const stopWaiting = new AbortController();
    const update = a.update(pay(0, 5n), { signal: stopWaiting.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await bobAccepted;
    assert.equal(b.phase, Phase.Acting);
    assert.equal(b.state.version, 2n);
    for (const l of links) l.cut();
    await eventually(
      () => alice.bus.connections().length === 0 && bob.bus.connections().length === 0,
      ctx.signal,
    );
    stopWaiting.abort();
    expect(await update).toBeInstanceOf(RequestTimedOutError);
    assert.equal(a.phase, Phase.Signing, "Alice keeps her sent update pending");
    // Her immediate sync cannot reach Bob.
    await eventually(() => alice.syncErrors.some((e) => e instanceof PeerUnreachableError), ctx.signal);
    assert.equal(a.phase, Phase.Signing);
    assert.equal(a.state.version, 1n);

    // The network is back; any traffic reconnects (here a stray answer to no proposal).
    for (const l of links) l.restore();
    await alice.bus.publish({
      sender: alice.wire.address,
      recipient: bob.wire.address,
      message: { type: MessageType.ChannelProposalRej, proposalId: randomBytes(32), reason: "reconnect" },
    });
    // The reconnect sync completes Alice's pending update, without another update call.
    await eventually(() => a.phase === Phase.Acting, ctx.signal);
    assert.equal(a.state.version, 2n);
    assert.deepEqual(a.state.allocation.balances, [[94n, 106n]]);
    assert.deepEqual(a.state.allocation.balances, b.state.allocation.balances);
    assert.equal(b.state.version, 2n);

    // Both go on from the agreed state.
    await b.update(pay(1, 2n), { signal: ctx.signal });
    assert.equal(a.state.version, 3n);
    assert.deepEqual(a.state.allocation.balances, [[96n, 104n]]);
  });
});
