import { type Channel, Client, ledgerChannelProposal, virtualChannelProposal } from "@perun-ts/client";
import { type Address, AppRegistry, type State, transfer } from "@perun-ts/core";
import { LevelPersistRestorer } from "@perun-ts/persistence-level";
import { LocalWatcher } from "@perun-ts/watcher";
import { AddressBook, EnvelopeCodec, NetBus } from "@perun-ts/wire";
import { ethNodeChain, type NodeChain, simNodeChain } from "./node-chain.js";
import type { DepositRecord } from "./replicated-ledger.js";
import { msSince } from "./stats.js";
import type {
  CpuResult,
  HeapResult,
  InitResult,
  OpenResult,
  PersistStats,
  RestoreResult,
  TimedResult,
  WorkerInit,
} from "./worker-protocol.js";

/** Balance of each side in every benchmark channel; updates move 1 unit, so it never runs out. */
const CHANNEL_BALANCE = 1_000_000_000n;
/** Generous: the benchmarks measure, they do not test timeouts. */
const CALL_TIMEOUT_MS = 600_000;

/** Collects garbage twice (the node runs with --expose-gc) so heap figures hold live objects only. */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

/** Runs `tasks` with at most `limit` in flight. */
async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  return results;
}

/** Pays one unit from the own side to the peer. */
function payOne(ch: Channel): (s: State) => State {
  const from = ch.idx;
  return (s) => ({ ...s, allocation: transfer(s.allocation, from, from ^ 1, [1n]) });
}

/**
 * One perun node of a benchmark, living in its own process: a `Client` with a NetBus on loopback
 * TCP and a `LevelPersistRestorer`, on the sim backend (configured secp256k1, deposit-replicated
 * `SimLedger`) or on backend-eth against anvil. It accepts every proposal and update.
 */
export class BenchNode {
  readonly #chain: NodeChain;
  readonly #book = new AddressBook();
  readonly #bus: NetBus;
  readonly #watcher: LocalWatcher;
  readonly #persister: LevelPersistRestorer;
  readonly #client: Client;
  /** Channels this node proposed, in order (the ones it drives updates on). */
  readonly #proposed: Channel[] = [];
  #port = 0;

  private constructor(chain: NodeChain, persister: LevelPersistRestorer, apps: AppRegistry) {
    this.#chain = chain;
    this.#persister = persister;
    this.#bus = new NetBus({
      identity: chain.wire,
      verifySignature: chain.verifyData,
      codec: new EnvelopeCodec({ backend: chain.backend, apps }),
      addressBook: this.#book,
    });
    this.#watcher = new LocalWatcher({ adjudicator: chain.adjudicator, account: chain.participant });
    this.#client = new Client({
      identity: chain.wire,
      bus: this.#bus,
      backend: chain.backend,
      wallet: chain.wallet,
      funder: chain.funder,
      adjudicator: chain.adjudicator,
      watcher: this.#watcher,
      apps,
      persister,
      decisionTimeoutMs: CALL_TIMEOUT_MS,
    });
    const participant = chain.participant.address;
    this.#client.handle({
      onProposal: async (_proposal, responder) => {
        await responder.accept({ participant, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
      },
      onUpdate: async (_ch, _current, _update, responder) => {
        await responder.accept();
      },
    });
  }

  /** Builds the node and starts listening; `sendDeposit` carries local sim deposits to the other nodes. */
  static async start(init: WorkerInit, sendDeposit: (d: DepositRecord) => void): Promise<BenchNode> {
    const chain = init.eth ? await ethNodeChain(init.eth) : simNodeChain(init, sendDeposit);
    const apps = new AppRegistry();
    const persister = await LevelPersistRestorer.open(init.dbDir, {
      backend: chain.backend,
      apps,
      durable: init.durable,
    });
    const node = new BenchNode(chain, persister, apps);
    node.#port = await node.#listen();
    return node;
  }

  async #listen(): Promise<number> {
    const at = await this.#bus.listen({ host: "127.0.0.1", port: 0 });
    if (!("port" in at)) throw new Error("NetBus listened on a non-TCP address");
    return at.port;
  }

  info(): InitResult {
    return {
      wire: this.#chain.wire.address.bytes(),
      participant: this.#chain.participant.address.bytes(),
      port: this.#port,
      signer: this.#chain.signer,
    };
  }

  applyDeposit(d: DepositRecord): void {
    if (!this.#chain.applyDeposit) throw new Error("deposits are replicated on the sim ledger only");
    this.#chain.applyDeposit(d);
  }

  connect(peerWire: Uint8Array, port: number): void {
    this.#book.set(this.#chain.backend.decodeAddress(peerWire), { host: "127.0.0.1", port });
  }

  /** Proposes `count` channels to the peer, `concurrency` at a time; times each open+fund. */
  async open(peerWire: Uint8Array, count: number, concurrency: number): Promise<OpenResult> {
    const peer: Address = this.#chain.backend.decodeAddress(peerWire);
    const start = process.hrtime.bigint();
    const ids: Uint8Array[] = [];
    const latenciesMs = await pool(count, concurrency, async () => {
      const t0 = process.hrtime.bigint();
      const ch = await this.#client.proposeChannel(
        ledgerChannelProposal({
          challengeDuration: 3600n,
          participant: this.#chain.participant.address,
          initBals: {
            assets: [this.#chain.asset],
            balances: [[CHANNEL_BALANCE, CHANNEL_BALANCE]],
            locked: [],
          },
          peers: [this.#chain.wire.address, peer],
        }),
        { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) },
      );
      const ms = msSince(t0);
      this.#proposed.push(ch);
      ids.push(ch.id);
      return ms;
    });
    return { latenciesMs, elapsedMs: msSince(start), ids };
  }

  /**
   * Proposes `count` virtual channels (1/1) to the peer, one after another, funded from the
   * ledger channels `parents` (`[own with the hub, peer's with the hub]`, both with the hub at
   * index 1); times each open.
   */
  async openVirtual(
    peerWire: Uint8Array,
    parents: [Uint8Array, Uint8Array],
    count: number,
  ): Promise<TimedResult> {
    const peer: Address = this.#chain.backend.decodeAddress(peerWire);
    const start = process.hrtime.bigint();
    const latenciesMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      await this.#client.proposeChannel(
        virtualChannelProposal({
          challengeDuration: 3600n,
          proposer: this.#chain.participant.address,
          initBals: { assets: [this.#chain.asset], balances: [[1n, 1n]], locked: [] },
          peers: [this.#chain.wire.address, peer],
          parents,
          indexMaps: [
            [0, 1],
            [1, 0],
          ],
        }),
        { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) },
      );
      latenciesMs.push(msSince(t0));
    }
    return { latenciesMs, elapsedMs: msSince(start) };
  }

  /**
   * Updates the first `channels` proposed channels concurrently, each `perChannel` times in
   * sequence; times every update.
   */
  async update(channels: number, perChannel: number): Promise<TimedResult> {
    const chs = this.#proposed.slice(0, channels);
    if (chs.length < channels) throw new Error(`only ${chs.length} channels open, ${channels} requested`);
    const signal = AbortSignal.timeout(CALL_TIMEOUT_MS);
    const start = process.hrtime.bigint();
    const perChannelLatencies = await Promise.all(
      chs.map(async (ch) => {
        const ms: number[] = [];
        for (let i = 0; i < perChannel; i++) {
          const t0 = process.hrtime.bigint();
          await ch.update(payOne(ch), { signal });
          ms.push(msSince(t0));
        }
        return ms;
      }),
    );
    return { latenciesMs: perChannelLatencies.flat(), elapsedMs: msSince(start) };
  }

  /** Resolves once the client holds at least `count` channels (opened by either side). */
  async waitChannels(count: number): Promise<void> {
    if (this.#client.channels.length >= count) return;
    await new Promise<void>((resolve) => {
      const off = this.#client.onNewChannel(() => {
        if (this.#client.channels.length >= count) {
          off();
          resolve();
        }
      });
    });
  }

  heap(): HeapResult {
    collectGarbage();
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, rss: m.rss, channels: this.#client.channels.length };
  }

  /** CPU time this process has used so far (user and system), in milliseconds. */
  cpu(): CpuResult {
    const u = process.cpuUsage();
    return { userMs: u.user / 1000, systemMs: u.system / 1000 };
  }

  stats(): PersistStats {
    return this.#persister.stats;
  }

  /** Restores every persisted channel into the client (no watcher, no peer sync) and times it. */
  async restore(): Promise<RestoreResult> {
    const before = this.heap();
    const t0 = process.hrtime.bigint();
    const report = await this.#client.restore({ watch: false, resume: false });
    const elapsedMs = msSince(t0);
    const after = this.heap();
    return {
      restored: report.channels.length,
      failed: report.failed.length,
      elapsedMs,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
    };
  }

  /** Closes client, watcher, bus and database (in that order). */
  async shutdown(): Promise<void> {
    await this.#client.close();
    await this.#watcher.close();
    await this.#bus.close();
    await this.#persister.close();
  }
}
