import {
  ManualClock,
  type Secp256k1,
  SimAsset,
  SimChannelBackend,
  SimLedger,
  SimWallet,
} from "@perun-ts/backend-sim";
import { type Channel, Client, ledgerChannelProposal } from "@perun-ts/client";
import {
  type Account,
  AppRegistry,
  PerunError,
  Phase,
  RequestTimedOutError,
  stateEquals,
  transfer,
} from "@perun-ts/core";
import { LocalWatcher } from "@perun-ts/watcher";
import { AddressBook, type Bus, EnvelopeCodec, LocalBus, NetBus } from "@perun-ts/wire";
import { rng } from "./attacks.js";

/** Size and shape of a load run. */
export interface LoadOptions {
  /** Clients besides the hub. */
  readonly clients: number;
  /** Channels between the hub and each client. */
  readonly channelsPerClient: number;
  /** Update attempts per channel (from either side, concurrently). */
  readonly updatesPerChannel: number;
  /** Share of update attempts that are aborted (0..1). */
  readonly abortRate: number;
  /**
   * When aborts fire: `"before-send"` aborts at once (the update never leaves the client);
   * `"in-flight"` after 0–3 ms, usually while waiting for the peer's answer (the update then
   * stays pending until the peer's answer or a sync decides it; both ends must still agree).
   */
  readonly abortWhen: "before-send" | "in-flight";
  readonly network: "local" | "tcp";
  /** At most this many openings run at once (default: all). */
  readonly openBatch?: number;
  readonly seed: number;
  readonly secp256k1?: Secp256k1;
  /** Receives progress lines (phase changes). */
  readonly progress?: (line: string) => void;
}

/** What a load run measured. */
export interface LoadReport {
  readonly channels: number;
  readonly updatesOk: number;
  readonly updatesAborted: number;
  readonly updatesRefused: number;
  /** Updates without an injected abort that got no answer in time (a deadlock or a lost message). */
  readonly unexpectedTimeouts: number;
  /** Channels whose two ends still differed after the repair syncs. */
  readonly diverged: number;
  /** Channels settled on the ledger with both ends' agreed balances. */
  readonly settled: number;
  readonly ms: number;
  readonly heapMiB: number;
}

const MINT = 1_000_000n;
const DEPOSIT = 1_000n;

interface Node {
  readonly wire: Account;
  readonly participant: Account;
  readonly client: Client;
  readonly watcher: LocalWatcher;
  readonly bus: Bus;
}

/**
 * One hub and `clients` clients; `channelsPerClient` ledger channels between the hub and each
 * client, opened concurrently; then concurrent updates from both ends of every channel, some
 * aborted at random; then syncs repair what aborts left half-done, both ends are compared, and
 * every channel is settled cooperatively. Every ledger balance must equal the sum of the agreed
 * final balances.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const started = Date.now();
  const secp = opts.secp256k1 ? { secp256k1: opts.secp256k1 } : {};
  const backend = new SimChannelBackend(secp);
  const apps = new AppRegistry();
  const ledger = new SimLedger({ backend, clock: new ManualClock(1_000n) });
  const asset = new SimAsset(1n);
  const local = new LocalBus({ codec: new EnvelopeCodec({ backend, apps }) });
  const book = new AddressBook();
  const r = rng(opts.seed);
  const nodes: Node[] = [];
  const make = async (): Promise<Node> => {
    const wallet = new SimWallet(secp);
    const wire = wallet.newAccount();
    const participant = wallet.newAccount();
    ledger.mint(participant.address, asset, MINT);
    let bus: Bus = local;
    if (opts.network === "tcp") {
      const net = new NetBus({
        identity: wire,
        verifySignature: (signer, data, sig) => backend.verifyData(signer, data, sig),
        codec: new EnvelopeCodec({ backend, apps }),
        addressBook: book,
      });
      book.set(wire.address, await net.listen({ host: "127.0.0.1", port: 0 }));
      bus = net;
    }
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
      syncTimeoutMs: 2_000,
    });
    client.handle({
      onProposal: async (_p, resp) => {
        await resp.accept({ participant: participant.address });
      },
      onUpdate: async (_c, _s, _u, resp) => {
        await resp.accept();
      },
    });
    const node = { wire, participant, client, watcher, bus };
    nodes.push(node);
    return node;
  };
  let updatesOk = 0;
  let updatesAborted = 0;
  let updatesRefused = 0;
  let unexpectedTimeouts = 0;
  let diverged = 0;
  let settled = 0;
  try {
    const hub = await make();
    const clients: Node[] = [];
    for (let i = 0; i < opts.clients; i++) clients.push(await make());

    const say = (line: string) => opts.progress?.(`${Date.now() - started} ms: ${line}`);
    say("nodes up; opening channels");
    // Open every channel concurrently; pair the ends by channel id.
    const ends = new Map<string, Channel>();
    for (const c of clients) c.client.onNewChannel((ch) => ends.set(ch.idHex, ch));
    const pairs: { hub: Channel; client: Channel; node: Node }[] = [];
    const openings = clients.flatMap((node) => Array.from({ length: opts.channelsPerClient }, () => node));
    const batch = opts.openBatch ?? openings.length;
    for (let start = 0; start < openings.length; start += batch) {
      await Promise.all(
        openings.slice(start, start + batch).map(async (node) => {
          const ch = await hub.client.proposeChannel(
            ledgerChannelProposal({
              challengeDuration: 60n,
              participant: hub.participant.address,
              initBals: { assets: [asset], balances: [[DEPOSIT, DEPOSIT]], locked: [] },
              peers: [hub.wire.address, node.wire.address],
            }),
            { signal: AbortSignal.timeout(30_000) },
          );
          for (let i = 0; i < 1_000 && !ends.has(ch.idHex); i++)
            await new Promise((res) => setTimeout(res, 2));
          const other = ends.get(ch.idHex);
          if (!other) throw new Error(`the client end of ${ch.idHex} never appeared`);
          pairs.push({ hub: ch, client: other, node });
        }),
      );
    }

    say(`${pairs.length} channels open; updating`);
    // Concurrent updates from both ends, some aborted.
    const plans = pairs.map(() =>
      Array.from({ length: opts.updatesPerChannel }, () => ({
        fromHub: r() < 0.5,
        amount: BigInt(1 + Math.floor(r() * 5)),
        abortAfterMs:
          r() < opts.abortRate ? (opts.abortWhen === "in-flight" ? Math.floor(r() * 4) : -1) : undefined,
      })),
    );
    await Promise.all(
      pairs.map(async (p, i) => {
        await Promise.all(
          (plans[i] ?? []).map(async (u) => {
            const ch = u.fromHub ? p.hub : p.client;
            const ctrl = new AbortController();
            const timer =
              u.abortAfterMs === undefined
                ? setTimeout(() => ctrl.abort(new Error("no answer in 10 s")), 10_000)
                : u.abortAfterMs >= 0
                  ? setTimeout(() => ctrl.abort(new Error("random abort")), u.abortAfterMs)
                  : undefined;
            try {
              const updating = ch.update(
                (s) => {
                  const have = s.allocation.balances[0]?.[ch.idx] ?? 0n;
                  const amt = have < u.amount ? have : u.amount;
                  return { ...s, allocation: transfer(s.allocation, ch.idx, ch.peerIdx, [amt]) };
                },
                { signal: ctrl.signal },
              );
              if (u.abortAfterMs === -1) ctrl.abort(new Error("aborted before sending"));
              await updating;
              updatesOk++;
            } catch (e) {
              if (!(e instanceof PerunError)) throw e;
              if (u.abortAfterMs !== undefined) updatesAborted++;
              else if (e instanceof RequestTimedOutError) unexpectedTimeouts++;
              else updatesRefused++;
            } finally {
              clearTimeout(timer);
            }
          }),
        );
      }),
    );

    say(`updates done (${updatesOk} ok, ${updatesAborted} aborted, ${updatesRefused} refused); repairing`);
    // Repair what the aborts left half-done, then compare both ends.
    await Promise.all(
      pairs.map(async (p) => {
        for (let attempt = 0; attempt < 5; attempt++) {
          if (stateEquals(p.hub.state, p.client.state) && p.hub.phase === p.client.phase) return;
          await hub.client.sync(p.hub).catch(() => {});
          await new Promise((res) => setTimeout(res, 5 * attempt));
        }
        if (!stateEquals(p.hub.state, p.client.state)) {
          diverged++;
          const err = await hub.client.sync(p.hub).then(String, (e: unknown) => String(e));
          say(
            `diverged ${p.hub.idHex}: hub v${p.hub.state.version} ${Phase[p.hub.phase]}, client v${p.client.state.version} ${Phase[p.client.phase]}; last sync: ${err}`,
          );
        }
      }),
    );

    say(`repaired (${diverged} diverged); settling`);
    // Settle everything cooperatively; the ledger must pay the agreed balances.
    const expected = new Map<string, bigint>();
    const credit = (a: Account, v: bigint) => {
      const k = a.address.toString();
      expected.set(k, (expected.get(k) ?? MINT) + v);
    };
    await Promise.all(
      pairs.map(async (p) => {
        await p.hub.update((s) => ({ ...s, isFinal: true }), { signal: AbortSignal.timeout(10_000) });
        const bals = p.hub.state.allocation.balances[0] ?? [];
        credit(hub.participant, (bals[p.hub.idx] ?? 0n) - DEPOSIT);
        credit(p.node.participant, (bals[p.client.idx] ?? 0n) - DEPOSIT);
        await Promise.all([p.hub.settle(), p.client.settle({ secondary: true })]);
        settled++;
      }),
    );
    for (const n of [hub, ...clients]) {
      const want = expected.get(n.participant.address.toString()) ?? MINT;
      const have = ledger.balanceOf(n.participant.address, asset);
      if (have !== want)
        throw new Error(`ledger balance of ${n.participant.address} is ${have}, expected ${want}`);
    }
  } finally {
    for (const n of nodes) await n.client.close();
    for (const n of nodes) await n.watcher.close();
    if (opts.network === "tcp") for (const n of nodes) await n.bus.close();
    await local.close();
  }
  return {
    channels: opts.clients * opts.channelsPerClient,
    updatesOk,
    updatesAborted,
    updatesRefused,
    unexpectedTimeouts,
    diverged,
    settled,
    ms: Date.now() - started,
    heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
}
