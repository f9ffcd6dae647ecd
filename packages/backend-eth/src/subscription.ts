import { adjudicatorAbi } from "@perun-ts/contracts";
import {
  type AdjudicatorEvent,
  type AdjudicatorSubscription,
  type ChannelId,
  channelIdHex,
  type Logger,
} from "@perun-ts/core";
import { getAbiItem, type Hex } from "viem";
import { BlockTimeout } from "./block-timeout.js";
import { decodeUpdateCalldata, type EthAppResolver } from "./calldata.js";
import type { BlockHead, EthChain } from "./chain.js";
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
  readonly logger: Logger;
}

// How far to rescan after a reorg deeper than the confirmation depth was detected.
const REORG_RESCAN = 128n;

/**
 * Events of one channel from `ChannelUpdate` logs: first the most recent past event, then every
 * new one. A log counts once it has the chain's confirmation depth, so logs removed by a reorg
 * within that depth are never delivered; a deeper reorg is detected by the block hash, logged, and
 * rescanned. Duplicates (same version, phase and timeout, e.g. `conclude` logs the root twice) are
 * delivered once. Registered/progressed states are rebuilt from the emitting transaction's calldata.
 * Works over HTTP and WebSocket transports (it polls).
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
      const ev = await s.#toEvent(latest);
      if (ev) s.#push(ev);
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
        if (this.#lastHead && head.hash === this.#lastHead.hash) continue;
        this.#lastHead = head;
        await this.#checkReorg(head);
        const logs = await this.#scan(chain.confirmedNumber(head), head);
        for (const l of logs) {
          const key = keyOf(l);
          if (this.#seen.has(key)) continue;
          this.#seen.add(key);
          const ev = await this.#toEvent(l);
          if (ev) this.#push(ev);
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

  async #toEvent(l: ChannelUpdateLog): Promise<AdjudicatorEvent | undefined> {
    const { chain, id, resolveApp, logger } = this.#o;
    const base = { id, version: l.version, timeout: new BlockTimeout(chain, l.timeout) };
    if (l.phase === DisputePhase.CONCLUDED) return { type: "concluded", ...base };
    try {
      const tx = await chain.rpc("eth_getTransactionByHash", () =>
        chain.client.getTransaction({ hash: l.txHash }),
      );
      const d = decodeUpdateCalldata(tx.input, id, resolveApp);
      if (l.phase === DisputePhase.DISPUTE && d.kind === "register") {
        return { type: "registered", ...base, state: d.state, sigs: d.sigs };
      }
      if (l.phase === DisputePhase.FORCEEXEC && d.kind === "progress") {
        return { type: "progressed", ...base, state: d.state, actorIdx: d.actorIdx };
      }
      throw new Error(`phase ${l.phase} emitted by a ${d.kind} call`);
    } catch (err) {
      // not silent: the event is reported, but it cannot be turned into a state
      logger.warn("cannot rebuild the state of a channel update", {
        id: channelIdHex(id),
        tx: l.txHash,
        error: String(err),
      });
      return undefined;
    }
  }
}

function keyOf(l: ChannelUpdateLog): string {
  return `${l.version}:${l.phase}:${l.timeout}`;
}
