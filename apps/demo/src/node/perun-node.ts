import { join } from "node:path";
import { type Channel, Client, ledgerChannelProposal, type RestoreReport } from "@perun-ts/client";
import {
  type Address,
  type AdjudicatorEvent,
  type Logger,
  Phase,
  phaseName,
  type State,
  silentLogger,
  type Transaction,
  transfer,
} from "@perun-ts/core";
import { LevelPersistRestorer } from "@perun-ts/persistence-level";
import { LocalWatcher } from "@perun-ts/watcher";
import {
  AddressBook,
  EnvelopeCodec,
  MessageType,
  type NetAddress,
  NetBus,
  netAddressToString,
} from "@perun-ts/wire";
import type { NodeConfig } from "../cli/node-config.js";
import { errorLine, UsageError } from "../errors.js";
import { formatEth } from "../eth-amount.js";
import { COMMAND_HELP, type Command } from "./command.js";
import type { NodeChain } from "./node-chain.js";
import type { ChannelSummary, NodeEvent } from "./node-event.js";
import { PaymentTicker } from "./payment-ticker.js";

/** How long opening a channel (proposal, signatures, both deposits) may take. */
const OPEN_TIMEOUT_MS = 60_000;
/** How long one off-chain payment may wait for the peer. */
const UPDATE_TIMEOUT_MS = 15_000;
/** How long settling may take (a dispute waits for the challenge period on chain). */
const SETTLE_TIMEOUT_MS = 10 * 60_000;
/** How long restoring at start-up may take in total (reading the database, syncing with peers). */
const RESTORE_TIMEOUT_MS = 30_000;
/** How long each restored channel waits for its peer's sync answer (an offline peer must not stall start-up). */
const RESTORE_SYNC_TIMEOUT_MS = 5_000;

/** Where a node keeps its channel database inside its data directory. */
export function channelDbPath(dataDir: string): string {
  return join(dataDir, "channels");
}

interface Peer {
  readonly name: string;
  readonly address: Address;
  readonly at: NetAddress;
}

/** Options of {@link PerunNode.start}. */
export interface PerunNodeOptions {
  readonly config: NodeConfig;
  readonly chain: NodeChain;
  /** Receives everything that happens asynchronously (proposals, payments, chain events). */
  readonly emit: (e: NodeEvent) => void;
  readonly logger?: Logger;
}

function balanceRow(s: State): readonly bigint[] {
  return s.allocation.balances[0] ?? [];
}

/**
 * A payment-channel node: a `Client` on an authenticated TCP bus, a local watchtower, and the
 * chain backend, driven by commands. Composition and presentation only; the protocols are the
 * client's.
 */
export class PerunNode {
  readonly #cfg: NodeConfig;
  readonly #chain: NodeChain;
  readonly #emit: (e: NodeEvent) => void;
  readonly #bus: NetBus;
  readonly #watcher: LocalWatcher;
  readonly #client: Client;
  readonly #store: LevelPersistRestorer;
  readonly #peers: readonly Peer[];
  readonly #openingTx = new Map<string, Transaction>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #ctrl = new AbortController();
  readonly #ticker: PaymentTicker;
  #listen: NetAddress | undefined;
  #closed = false;

  private constructor(opts: PerunNodeOptions, store: LevelPersistRestorer) {
    const { config, chain } = opts;
    this.#cfg = config;
    this.#store = store;
    this.#chain = chain;
    this.#emit = opts.emit;
    this.#peers = config.peers.map((p) => ({
      name: p.name,
      address: chain.parseAddress(p.address),
      at: p.at,
    }));
    const book = new AddressBook(this.#peers.map((p) => [p.address, p.at] as const));
    const logger = opts.logger ?? silentLogger;
    this.#bus = new NetBus({
      identity: chain.account,
      verifySignature: chain.verifyData,
      codec: new EnvelopeCodec({ backend: chain.backend, apps: chain.apps }),
      addressBook: book,
      logger,
    });
    this.#watcher = new LocalWatcher({ adjudicator: chain.adjudicator, account: chain.account, logger });
    this.#client = new Client({
      identity: chain.account,
      bus: this.#bus,
      backend: chain.backend,
      wallet: chain.wallet,
      funder: chain.funder,
      adjudicator: chain.adjudicator,
      watcher: this.#watcher,
      apps: chain.apps,
      persister: store,
      logger,
    });
    this.#ticker = new PaymentTicker((peer, count, total, balance) =>
      this.#emit({ type: "received", peer, count, total, balance }),
    );
  }

  /**
   * Starts a node: opens its channel database, listens for peers, answers their proposals and
   * payments, and restores the channels of an earlier run from the database before it reports
   * `ready`.
   */
  static async start(opts: PerunNodeOptions): Promise<PerunNode> {
    const dbPath = channelDbPath(opts.config.dataDir);
    let store: LevelPersistRestorer;
    try {
      // durable: a payment the node has acknowledged survives even an OS crash
      store = await LevelPersistRestorer.open(dbPath, {
        backend: opts.chain.backend,
        apps: opts.chain.apps,
        durable: true,
      });
    } catch (e) {
      throw new UsageError(
        `cannot open the channel database ${dbPath} (is another node using this data directory?): ${errorLine(e)}`,
      );
    }
    const node = new PerunNode(opts, store);
    try {
      node.#listen = await node.#bus.listen(opts.config.listen);
    } catch (e) {
      await node.close();
      throw new UsageError(
        `cannot listen on ${opts.config.listen.host}:${opts.config.listen.port}: ${errorLine(e)}`,
      );
    }
    node.#client.handle({
      onProposal: (p, r) => node.#onProposal(p, r),
      onUpdate: (ch, cur, u, r) => node.#onUpdate(ch, cur, u.state, r),
    });
    try {
      await node.#restore();
    } catch (e) {
      await node.close();
      throw e;
    }
    opts.emit({
      type: "ready",
      name: opts.config.name,
      address: opts.chain.account.address.toString(),
      listen: node.#listen ? netAddressToString(node.#listen) : "?",
      chain: opts.chain.description,
    });
    return node;
  }

  /** Where the node listens for peers. */
  get listenAddress(): NetAddress | undefined {
    return this.#listen;
  }

  get address(): Address {
    return this.#chain.account.address;
  }

  // ---------------------------------------------------------------------------- incoming

  async #onProposal(
    p: Parameters<Parameters<Client["handle"]>[0]["onProposal"]>[0],
    r: Parameters<Parameters<Client["handle"]>[0]["onProposal"]>[1],
  ): Promise<void> {
    if (p.type !== MessageType.LedgerChannelProposal) {
      this.#emit({ type: "warning", message: "rejected a sub-/virtual channel proposal (not supported)" });
      await r.reject("this node only opens ledger payment channels");
      return;
    }
    const peer = this.#peerByAddress(p.peers[0] as Address);
    const row = p.initBals.balances[0] ?? [];
    const theirDeposit = row[0] ?? 0n;
    const myDeposit = row[1] ?? 0n;
    const asset = p.initBals.assets[0];
    let reason: string | undefined;
    if (!peer) reason = "unknown peer";
    else if (p.initBals.assets.length !== 1 || !asset?.equals(this.#chain.asset))
      reason = "unsupported asset";
    else if (p.app.def !== null) reason = "only payment channels are supported";
    const name = peer?.name ?? (p.peers[0] as Address).toString();
    if (reason) {
      this.#emit({ type: "proposal", peer: name, theirDeposit, myDeposit, accepted: false, reason });
      await r.reject(reason);
      return;
    }
    this.#emit({ type: "proposal", peer: name, theirDeposit, myDeposit, accepted: true });
    try {
      const ch = await r.accept({
        participant: this.address,
        signal: AbortSignal.any([this.#ctrl.signal, AbortSignal.timeout(OPEN_TIMEOUT_MS)]),
      });
      await this.#adopt(ch);
      this.#emit({ type: "opened", channel: this.#summary(ch) });
    } catch (e) {
      this.#emit({ type: "warning", message: `opening the channel with ${name} failed: ${errorLine(e)}` });
    }
  }

  async #onUpdate(
    ch: Channel,
    cur: State,
    next: State,
    r: { accept(): Promise<void>; reject(reason: string): Promise<void> },
  ): Promise<void> {
    const peer = this.#peerName(ch);
    const before = balanceRow(cur)[ch.idx] ?? 0n;
    const after = balanceRow(next)[ch.idx] ?? 0n;
    if (after < before) {
      this.#emit({ type: "warning", message: `rejected an update from ${peer} that lowers my balance` });
      await r.reject("this node only accepts updates that pay it");
      return;
    }
    await r.accept();
    if (after > before) this.#ticker.add(peer, after - before, after);
    if (next.isFinal) {
      this.#ticker.flush();
      this.#emit({ type: "info", message: `${peer} closes the channel; withdrawing my share` });
      this.#spawn(async () => {
        try {
          this.#emit(await this.#settle(ch, "cooperative", true));
        } catch (e) {
          this.#emit({
            type: "warning",
            message: `withdrawing from the channel with ${peer} failed: ${errorLine(e)}`,
          });
        }
      });
    }
  }

  #onChainEvent(ch: Channel, ev: AdjudicatorEvent): void {
    // sim timeouts carry `at`, Ethereum ones `time` (both: chain time in seconds)
    const t = ev.timeout as { at?: unknown; time?: unknown };
    const at = t.at ?? t.time;
    this.#emit({
      type: "chain",
      peer: this.#peerName(ch),
      event: ev.type,
      version: ev.version,
      latest: ch.state.version,
      ...(typeof at === "bigint" ? { timeoutAt: at.toString() } : {}),
    });
  }

  /**
   * Restores the channels persisted by an earlier run: the client rebuilds them, re-registers them
   * with the watchtower and syncs each with its peer (a peer that is offline only costs a short
   * timeout; the channel is restored anyway and syncs again on its next update). A channel that
   * was already closed off-chain but not yet withdrawn is withdrawn in the background.
   */
  async #restore(): Promise<void> {
    let report: RestoreReport;
    try {
      report = await this.#client.restore({
        signal: this.#signal(RESTORE_TIMEOUT_MS),
        syncTimeoutMs: RESTORE_SYNC_TIMEOUT_MS,
        onEvent: (ch, ev) => this.#onChainEvent(ch, ev),
      });
    } catch (e) {
      throw new UsageError(
        `cannot restore the channels in ${channelDbPath(this.#cfg.dataDir)}: ${errorLine(e)}`,
      );
    }
    for (const { id, error } of report.failed) {
      this.#emit({ type: "warning", message: `could not restore channel ${id}: ${errorLine(error)}` });
    }
    for (const { channel: ch, sync, error } of report.channels) {
      this.#emit({
        type: "restored",
        channel: this.#summary(ch),
        ...(sync !== undefined ? { sync } : {}),
        ...(error !== undefined ? { error: errorLine(error) } : {}),
      });
      if (ch.state.isFinal && !ch.isClosed && ch.phase <= Phase.Final) {
        const peer = this.#peerName(ch);
        this.#spawn(async () => {
          try {
            // we may not know whether the peer concludes: conclude ourselves (idempotent on chain)
            this.#emit(await this.#settle(ch, "cooperative", false));
          } catch (e) {
            this.#emit({
              type: "warning",
              message: `withdrawing from the closed channel with ${peer} failed: ${errorLine(e)}`,
            });
          }
        });
      }
    }
  }

  /** A new channel: remember its opening state, let the watchtower guard it. */
  async #adopt(ch: Channel): Promise<void> {
    this.#openingTx.set(ch.idHex, ch.current);
    await ch.watch((ev) => this.#onChainEvent(ch, ev));
  }

  #spawn(task: () => Promise<void>): void {
    const p: Promise<void> = task().finally(() => this.#tasks.delete(p));
    this.#tasks.add(p);
  }

  // ---------------------------------------------------------------------------- commands

  /**
   * Runs one command; progress goes to `progress`. Resolves with the result event (ok or not):
   * a failing command is a result with the error's one-line reason, never a throw.
   */
  async execute(cmd: Command, progress: (e: NodeEvent) => void = this.#emit): Promise<NodeEvent> {
    try {
      return await this.#run(cmd, progress);
    } catch (e) {
      return { type: "result", command: cmd.kind, ok: false, message: errorLine(e) };
    }
  }

  async #run(cmd: Command, progress: (e: NodeEvent) => void): Promise<NodeEvent> {
    if (this.#closed) throw new UsageError("the node is stopping");
    const ok = (message: string, data?: Record<string, unknown>): NodeEvent => ({
      type: "result",
      command: cmd.kind,
      ok: true,
      message,
      ...(data ? { data } : {}),
    });
    switch (cmd.kind) {
      case "help":
        return ok(COMMAND_HELP.join("\n"));
      case "exit":
        return ok("bye");
      case "balance": {
        const onChain = await this.#chain.balanceOf(this.address);
        const channels = this.#client.channels.filter((c) => !c.isClosed);
        const inChannels = channels.reduce((s, c) => s + (balanceRow(c.state)[c.idx] ?? 0n), 0n);
        return ok(
          `on-chain ${formatEth(onChain)}, in ${channels.length} channel(s) ${formatEth(inChannels)}`,
          { onChain, inChannels },
        );
      }
      case "channels": {
        const list = this.#client.channels.filter((c) => !c.isClosed).map((c) => this.#summary(c));
        const lines = list.map(
          (c) =>
            `${c.id}  ${c.peer}  ${c.phase}  v${c.version}  mine ${formatEth(c.mine)}  theirs ${formatEth(c.theirs)}`,
        );
        return ok(lines.length ? lines.join("\n") : "no open channels", { channels: list });
      }
      case "open": {
        const peer = this.#peer(cmd.peer);
        const have = await this.#chain.balanceOf(this.address);
        if (have < cmd.myDeposit) {
          throw new UsageError(
            `insufficient on-chain balance: have ${formatEth(have)}, deposit ${formatEth(cmd.myDeposit)}`,
          );
        }
        const proposal = ledgerChannelProposal({
          challengeDuration: this.#cfg.challengeDuration,
          participant: this.address,
          initBals: {
            assets: [this.#chain.asset],
            balances: [[cmd.myDeposit, cmd.theirDeposit]],
            locked: [],
          },
          peers: [this.address, peer.address],
        });
        const ch = await this.#client.proposeChannel(proposal, { signal: this.#signal(OPEN_TIMEOUT_MS) });
        await this.#adopt(ch);
        const summary = this.#summary(ch);
        return ok(
          `channel open: ${summary.id} with ${peer.name}, mine ${formatEth(summary.mine)}, theirs ${formatEth(summary.theirs)}`,
          {
            channel: summary,
          },
        );
      }
      case "pay": {
        const ch = this.#channelWith(cmd.peer, true);
        const total = cmd.amount * BigInt(cmd.count);
        const mine = balanceRow(ch.state)[ch.idx] ?? 0n;
        if (mine < total) {
          throw new UsageError(
            `insufficient channel balance: have ${formatEth(mine)}, paying ${formatEth(total)}`,
          );
        }
        const step = Math.max(1, Math.floor(cmd.count / 50));
        const started = performance.now();
        for (let i = 1; i <= cmd.count; i++) {
          await ch.update(
            (s) => ({ ...s, allocation: transfer(s.allocation, ch.idx, ch.peerIdx, [cmd.amount]) }),
            { signal: this.#signal(UPDATE_TIMEOUT_MS) },
          );
          if (cmd.count > 1 && (i % step === 0 || i === cmd.count)) {
            progress({ type: "progress", done: i, total: cmd.count });
          }
        }
        const elapsedMs = performance.now() - started;
        const rate = cmd.count / (elapsedMs / 1000);
        const s = this.#summary(ch);
        const what = cmd.count === 1 ? formatEth(cmd.amount) : `${cmd.count} × ${formatEth(cmd.amount)}`;
        return ok(
          `paid ${cmd.peer} ${what} in ${(elapsedMs / 1000).toFixed(2)} s (${rate.toFixed(0)} payments/s); mine ${formatEth(s.mine)}, theirs ${formatEth(s.theirs)}`,
          { count: cmd.count, elapsedMs: Math.round(elapsedMs), rate: Math.round(rate), channel: s },
        );
      }
      case "close": {
        const ch = this.#channelWith(cmd.peer, true);
        await ch.update((s) => ({ ...s, isFinal: true }), { signal: this.#signal(UPDATE_TIMEOUT_MS) });
        const settled = await this.#settle(ch, "cooperative", false);
        return ok(describeSettled(settled), { settled });
      }
      case "dispute": {
        const ch = this.#channelWith(cmd.peer, false);
        progress({
          type: "info",
          message: `disputing the channel with ${cmd.peer}: registering version ${ch.state.version} and waiting for the challenge period on chain`,
        });
        const settled = await this.#settle(ch, "dispute", false);
        return ok(describeSettled(settled), { settled });
      }
      case "cheat": {
        const ch = this.#channelWith(cmd.peer, false);
        const stale = this.#openingTx.get(ch.idHex);
        if (!stale) throw new UsageError("no opening state kept for this channel");
        const params = ch.params;
        const idx = ch.idx;
        // A cheater does not guard against itself: stop watching, then register the old state.
        await ch.close();
        await this.#chain.adjudicator.register(
          { params, account: this.#chain.account, tx: stale, idx, secondary: false },
          [],
          { signal: this.#signal(UPDATE_TIMEOUT_MS) },
        );
        return ok(
          `registered the stale version ${stale.state?.version ?? 0n} of the channel with ${cmd.peer} on chain`,
        );
      }
    }
  }

  async #settle(
    ch: Channel,
    how: "cooperative" | "dispute",
    secondary: boolean,
  ): Promise<NodeEvent & { type: "settled" }> {
    await ch.settle({ signal: this.#signal(SETTLE_TIMEOUT_MS), secondary });
    const withdrawn = balanceRow(ch.state)[ch.idx] ?? 0n;
    const onChain = await this.#chain.balanceOf(this.address);
    return { type: "settled", peer: this.#peerName(ch), how, withdrawn, onChain };
  }

  #signal(ms: number): AbortSignal {
    return AbortSignal.any([this.#ctrl.signal, AbortSignal.timeout(ms)]);
  }

  // ---------------------------------------------------------------------------- lookups

  #peer(name: string): Peer {
    const p = this.#peers.find((x) => x.name === name);
    if (!p) throw new UsageError(`unknown peer "${name}"`);
    return p;
  }

  #peerByAddress(a: Address): Peer | undefined {
    return this.#peers.find((p) => p.address.equals(a));
  }

  #peerName(ch: Channel): string {
    const a = ch.peers[ch.peerIdx] as Address;
    return this.#peerByAddress(a)?.name ?? a.toString();
  }

  /** The newest channel with `name` (only ones that can still pay if `acting`). */
  #channelWith(name: string, acting: boolean): Channel {
    const peer = this.#peer(name);
    const all = this.#client.channels.filter(
      (c) => !c.isClosed && (c.peers[c.peerIdx] as Address).equals(peer.address),
    );
    const usable = acting ? all.filter((c) => c.phase === Phase.Acting) : all;
    const ch = usable[usable.length - 1];
    if (!ch) {
      throw new UsageError(
        all.length > 0
          ? `the channel with ${name} is in phase ${phaseName((all[all.length - 1] as Channel).phase)}, not open for payments`
          : `no open channel with ${name} (open one: open ${name} <my-deposit> <their-deposit>)`,
      );
    }
    return ch;
  }

  #summary(ch: Channel): ChannelSummary {
    const row = balanceRow(ch.state);
    return {
      id: ch.idHex,
      peer: this.#peerName(ch),
      phase: phaseName(ch.phase),
      version: ch.state.version,
      mine: row[ch.idx] ?? 0n,
      theirs: row[ch.peerIdx] ?? 0n,
    };
  }

  /** The peer names from the configuration. */
  get peerNames(): string[] {
    return this.#peers.map((p) => p.name);
  }

  // ---------------------------------------------------------------------------- lifecycle

  /** Stops everything: pending work is aborted, channels stop being watched, sockets close. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ticker.flush();
    this.#ctrl.abort(new UsageError("node stopped"));
    await Promise.allSettled([...this.#tasks]);
    await this.#client.close();
    await this.#watcher.close();
    await this.#bus.close();
    await this.#chain.close();
    await this.#store.close();
  }
}

function describeSettled(e: NodeEvent & { type: "settled" }): string {
  return `channel with ${e.peer} settled (${e.how}): withdrew ${formatEth(e.withdrawn)}, on-chain balance ${formatEth(e.onChain)}`;
}
