import { adjudicatorAbi } from "@perun-ts/contracts";
import {
  type AdjudicatorEvent,
  type AdjudicatorSubscription,
  ChainNotReachableError,
  type ChannelId,
  channelIdHex,
  type Logger,
  noApp,
  type State,
  toHex,
} from "@perun-ts/core";
import { getAbiItem, type Hex } from "viem";
import { BlockTimeout } from "./block-timeout.js";
import {
  adjudicatorCallInputs,
  type CallFrame,
  type DecodedUpdate,
  decodeUpdateCalldata,
  type EthAppResolver,
} from "./calldata.js";
import type { BlockHead, EthChain } from "./chain.js";
import { hashState } from "./encoding.js";
import type { EthAddress } from "./eth-address.js";

const CHANNEL_UPDATE = getAbiItem({ abi: adjudicatorAbi, name: "ChannelUpdate" });

/** Phases of the on-chain dispute record. */
export const DisputePhase = { DISPUTE: 0, FORCEEXEC: 1, CONCLUDED: 2 } as const;

/** A decoded `ChannelUpdate` log. */
export interface ChannelUpdateLog {
  readonly version: bigint;
  readonly phase: number;
  readonly timeout: bigint;
  readonly txHash: Hex;
  readonly blockNumber: bigint;
}

/** A state the local side knows (signed or proposed), with the signatures it holds, if any. */
export interface KnownState {
  readonly state: State;
  readonly sigs?: readonly Uint8Array[];
}

/**
 * Looks up a locally known state of channel `id` with exactly `version` (e.g. from the client's
 * channel or the watcher's store). Used when a `ChannelUpdate` cannot be rebuilt from calldata.
 */
export type KnownStateLookup = (
  id: ChannelId,
  version: bigint,
) => KnownState | undefined | Promise<KnownState | undefined>;

/**
 * Marks an event whose state could not be rebuilt: the call came through another contract, the
 * node offers no call traces, and no locally known state matches. `version` and `timeout` are the
 * chain's; `state` is only a placeholder (id and version; empty allocation and data) and `sigs` is
 * empty. Consumers that need the state must check this flag. Such events are delivered, never
 * dropped, so that a watcher still refutes an outdated registration.
 */
export interface StateUnknown {
  readonly stateUnknown: true;
}

/** Options of {@link ChannelUpdateSubscription}. */
export interface SubscriptionOptions {
  readonly chain: EthChain;
  readonly adjudicator: EthAddress;
  readonly id: ChannelId;
  /** First block to search for past events (no fixed look-back window). */
  readonly startBlock: bigint;
  /** Largest block range of one `eth_getLogs` call. */
  readonly maxLogRange: bigint;
  readonly resolveApp: EthAppResolver;
  /** States known locally, for updates whose calldata cannot be decoded. */
  readonly knownStates?: KnownStateLookup;
  /**
   * Ask the node for a call trace (`debug_traceTransaction`, `callTracer`) when a transaction did
   * not call the Adjudicator directly; default true. Nodes without the debug API are skipped.
   */
  readonly traceCalls?: boolean;
  readonly logger: Logger;
}

// Rounds a transaction that the node does not return is retried before its event is built without it.
const MAX_TX_FETCH_ATTEMPTS = 5;

// How far to rescan after a reorg deeper than the confirmation depth was detected.
const REORG_RESCAN = 128n;

/**
 * Events of one channel from `ChannelUpdate` logs: first the most recent past event, then every
 * new one. A log counts once it has the chain's confirmation depth, so logs removed by a reorg
 * within that depth are never delivered; a deeper reorg is detected by the block hash, logged, and
 * rescanned. Duplicates (same version, phase and timeout, e.g. `conclude` logs the root twice) are
 * delivered once. Registered/progressed states are rebuilt from the emitting transaction's calldata;
 * for a call through another contract (multisig, forwarder) from the node's call trace, else from
 * {@link KnownStateLookup}, else the event is delivered marked {@link StateUnknown}. Works over HTTP
 * and WebSocket transports (it polls).
 */
export class ChannelUpdateSubscription implements AdjudicatorSubscription {
  readonly #o: SubscriptionOptions;
  readonly #queue: AdjudicatorEvent[] = [];
  readonly #waiters: ((r: IteratorResult<AdjudicatorEvent>) => void)[] = [];
  readonly #seen = new Set<string>();
  readonly #stop = new AbortController();
  #closed = false;
  #scannedTo = -1n;
  #scannedHash: Hex | undefined;
  #lastHead: BlockHead | undefined;
  /** Scanned logs whose events are not built yet (in order). */
  readonly #pending: ChannelUpdateLog[] = [];
  /** Failed `eth_getTransactionByHash` attempts per transaction. */
  readonly #txFailures = new Map<string, number>();
  #loop: Promise<void> | undefined;

  private constructor(o: SubscriptionOptions) {
    this.#o = o;
    this.#scannedTo = o.startBlock - 1n;
  }

  /** Scans the past (delivering only the latest event), then keeps polling until `close()`. */
  static async open(o: SubscriptionOptions): Promise<ChannelUpdateSubscription> {
    const s = new ChannelUpdateSubscription(o);
    const head = await o.chain.head();
    const past = await s.#scan(o.chain.confirmedNumber(head), head);
    const latest = past[past.length - 1];
    for (const l of past) s.#seen.add(keyOf(l));
    if (latest) {
      s.#push(await s.#toEvent(latest));
    }
    s.#loop = s.#run();
    return s;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    for (const w of this.#waiters.splice(0)) w({ done: true, value: undefined });
  }

  /** Resolves when the polling loop has ended after `close()`. */
  async closed(): Promise<void> {
    await this.#loop;
  }

  [Symbol.asyncIterator](): AsyncIterator<AdjudicatorEvent> {
    return {
      next: () => {
        const ev = this.#queue.shift();
        if (ev) return Promise.resolve({ done: false, value: ev });
        if (this.#closed) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  #push(ev: AdjudicatorEvent): void {
    if (this.#closed) return;
    const w = this.#waiters.shift();
    if (w) w({ done: false, value: ev });
    else this.#queue.push(ev);
  }

  async #run(): Promise<void> {
    const { chain, logger } = this.#o;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await chain.pause(signal);
        const head = await chain.head();
        // nothing new on chain and nothing left to retry
        if (this.#lastHead && head.hash === this.#lastHead.hash && this.#pending.length === 0) continue;
        this.#lastHead = head;
        await this.#checkReorg(head);
        this.#pending.push(...(await this.#scan(chain.confirmedNumber(head), head)));
        // a log leaves the queue only once its event is built: a failed RPC retries it next round
        for (let l = this.#pending[0]; l !== undefined; l = this.#pending[0]) {
          const key = keyOf(l);
          if (!this.#seen.has(key)) {
            const ev = await this.#toEvent(l);
            this.#seen.add(key);
            this.#push(ev);
          }
          this.#pending.shift();
        }
      } catch (err) {
        if (signal.aborted) return;
        logger.warn("channel event poll failed; retrying", {
          id: channelIdHex(this.#o.id),
          error: String(err),
        });
      }
    }
  }

  async #checkReorg(head: BlockHead): Promise<void> {
    const { chain, logger } = this.#o;
    if (this.#scannedHash === undefined || this.#scannedTo < 0n) return;
    // a chain that got shorter than what was scanned was reorganised too
    if (head.number >= this.#scannedTo) {
      const hash =
        head.number === this.#scannedTo
          ? head.hash
          : (
              await chain.rpc("eth_getBlockByNumber", () =>
                chain.client.getBlock({ blockNumber: this.#scannedTo }),
              )
            ).hash;
      if (hash === this.#scannedHash) return;
    }
    logger.warn(
      "reorg deeper than the confirmation depth; rescanning (delivered events cannot be retracted)",
      {
        id: channelIdHex(this.#o.id),
        block: String(this.#scannedTo),
      },
    );
    const back = this.#scannedTo - REORG_RESCAN;
    this.#scannedTo = back < this.#o.startBlock - 1n ? this.#o.startBlock - 1n : back;
    this.#scannedHash = undefined;
  }

  /** Logs in (scannedTo, to], in chunks; advances the scan position. */
  async #scan(to: bigint, head: BlockHead): Promise<ChannelUpdateLog[]> {
    const { chain, adjudicator, id, maxLogRange } = this.#o;
    const out: ChannelUpdateLog[] = [];
    let from = this.#scannedTo + 1n;
    while (from <= to) {
      const end = from + maxLogRange - 1n < to ? from + maxLogRange - 1n : to;
      const logs = await chain.rpc("eth_getLogs", () =>
        chain.client.getLogs({
          address: adjudicator.hex,
          event: CHANNEL_UPDATE,
          args: { channelID: channelIdHex(id) as Hex },
          fromBlock: from,
          toBlock: end,
          strict: true,
        }),
      );
      for (const l of logs) {
        if (l.removed || l.transactionHash === null || l.blockNumber === null) continue;
        out.push({
          version: l.args.version,
          phase: l.args.phase,
          timeout: l.args.timeout,
          txHash: l.transactionHash,
          blockNumber: l.blockNumber,
        });
      }
      from = end + 1n;
    }
    if (to > this.#scannedTo) {
      this.#scannedTo = to;
      this.#scannedHash =
        to === head.number
          ? head.hash
          : (await chain.rpc("eth_getBlockByNumber", () => chain.client.getBlock({ blockNumber: to }))).hash;
    }
    return out;
  }

  async #toEvent(l: ChannelUpdateLog): Promise<AdjudicatorEvent> {
    const { chain, id, logger } = this.#o;
    const base = { id, version: l.version, timeout: new BlockTimeout(chain, l.timeout) };
    if (l.phase === DisputePhase.CONCLUDED) return { type: "concluded", ...base };
    const kind = l.phase === DisputePhase.DISPUTE ? "register" : "progress";
    const d = (await this.#fromCalldata(l, kind)) ?? (await this.#fromKnown(l, kind));
    if (d?.kind === "register") return { type: "registered", ...base, state: d.state, sigs: d.sigs };
    if (d?.kind === "progress") return { type: "progressed", ...base, state: d.state, actorIdx: d.actorIdx };
    // not silent: the event is delivered (a watcher needs its version), marked as state-unknown
    logger.warn("cannot rebuild the state of a channel update; delivering it with the state unknown", {
      id: channelIdHex(id),
      tx: l.txHash,
      version: String(l.version),
    });
    const state: State = {
      id,
      version: l.version,
      app: noApp,
      allocation: { assets: [], balances: [], locked: [] },
      data: new Uint8Array(),
      isFinal: false,
    };
    const unknown: StateUnknown = { stateUnknown: true };
    return kind === "register"
      ? { type: "registered", ...base, state, sigs: [], ...unknown }
      : { type: "progressed", ...base, state, actorIdx: -1, ...unknown };
  }

  /** The update from the transaction's own input, or from the Adjudicator calls in its trace. */
  async #fromCalldata(l: ChannelUpdateLog, kind: DecodedUpdate["kind"]): Promise<DecodedUpdate | undefined> {
    const { chain, id, resolveApp, adjudicator, logger } = this.#o;
    const matches = (input: Hex): DecodedUpdate | undefined => {
      try {
        const d = decodeUpdateCalldata(input, id, resolveApp);
        return d.kind === kind && d.state.version === l.version ? d : undefined;
      } catch {
        return undefined;
      }
    };
    let tx: { to: Hex | null; input: Hex };
    try {
      tx = await chain.rpc("eth_getTransactionByHash", () => chain.client.getTransaction({ hash: l.txHash }));
      this.#txFailures.delete(l.txHash);
    } catch (err) {
      // retried by the poll loop; a node that cannot serve the transaction at all (no tx index)
      // yields a state-unknown event after a few rounds rather than blocking the queue forever
      const n = (this.#txFailures.get(l.txHash) ?? 0) + 1;
      this.#txFailures.set(l.txHash, n);
      if (err instanceof ChainNotReachableError || n < MAX_TX_FETCH_ATTEMPTS) throw err;
      this.#txFailures.delete(l.txHash);
      logger.warn("cannot fetch the transaction of a channel update", { tx: l.txHash, error: String(err) });
      return undefined;
    }
    if (tx.to?.toLowerCase() === adjudicator.hex) {
      const direct = matches(tx.input);
      if (direct) return direct;
    }
    try {
      if (this.#o.traceCalls === false) return undefined;
      const trace = await chain.rpc("debug_traceTransaction", () =>
        chain.client.request({
          method: "debug_traceTransaction",
          params: [l.txHash, { tracer: "callTracer" }],
        } as never),
      );
      // the last matching call: it emitted the event that counts (a later one supersedes an earlier)
      const found = adjudicatorCallInputs(trace as CallFrame, adjudicator)
        .map(matches)
        .filter((d) => d !== undefined);
      return found[found.length - 1];
    } catch (err) {
      if (err instanceof ChainNotReachableError) throw err;
      logger.debug("no call data for a channel update", { tx: l.txHash, error: String(err) });
      return undefined;
    }
  }

  /**
   * A locally known state of the event's version. Checked against the on-chain state hash when the
   * dispute record (at the event's block) still holds that version.
   */
  async #fromKnown(l: ChannelUpdateLog, kind: DecodedUpdate["kind"]): Promise<DecodedUpdate | undefined> {
    const { chain, id, adjudicator, knownStates, logger } = this.#o;
    if (!knownStates) return undefined;
    let known: KnownState | undefined;
    try {
      known = await knownStates(id, l.version);
    } catch (err) {
      logger.warn("known-state lookup failed", { id: channelIdHex(id), error: String(err) });
      return undefined;
    }
    if (!known || known.state.version !== l.version) return undefined;
    try {
      const record = await chain.rpc("disputes", () =>
        chain.client.readContract({
          address: adjudicator.hex,
          abi: adjudicatorAbi,
          functionName: "disputes",
          args: [channelIdHex(id) as Hex],
          blockNumber: l.blockNumber,
        }),
      );
      const [, , version, , , stateHash] = record;
      if (version === l.version && stateHash !== `0x${toHex(hashState(known.state))}`) {
        logger.warn("known state differs from the registered one; not used", { id: channelIdHex(id) });
        return undefined;
      }
    } catch (err) {
      // e.g. a pruned node without the historical state: the version match has to do
      logger.debug("cannot check the known state's hash", { id: channelIdHex(id), error: String(err) });
    }
    return kind === "register"
      ? { kind, state: known.state, sigs: [...(known.sigs ?? [])] }
      : { kind, state: known.state, actorIdx: -1 };
  }
}

function keyOf(l: ChannelUpdateLog): string {
  return `${l.version}:${l.phase}:${l.timeout}`;
}
