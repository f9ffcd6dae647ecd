import {
  AbortError,
  ChainNotReachableError,
  type Logger,
  PerunError,
  silentLogger,
  TxTimedOutError,
} from "@perun-ts/core";
import {
  type Chain,
  createPublicClient,
  type Hex,
  http,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
} from "viem";
import { TxFailedError } from "./errors.js";
import type { Hex as AddrHex } from "./eth-address.js";
import { isUnreachable, revertReasonOf } from "./revert-reason.js";

/** Options of an {@link EthChain}. */
export interface EthChainOptions {
  /** A viem public client (HTTP or WebSocket transport), or an RPC URL for an HTTP client. */
  readonly client: PublicClient<Transport, Chain | undefined> | string;
  /**
   * Blocks a transaction or event needs (its own block included) before it counts: 1 = as soon as
   * mined. Default 12 (mainnet-like); use 1 on anvil.
   */
  readonly confirmations?: number;
  /** How often to poll the chain head; default 4,000 ms (use ~20 ms on anvil). */
  readonly pollingIntervalMs?: number;
  /** How long to wait for a sent transaction to be mined and confirmed; default 10 minutes. */
  readonly txTimeoutMs?: number;
  readonly logger?: Logger;
}

/** A minimal block header. */
export interface BlockHead {
  readonly number: bigint;
  readonly hash: Hex;
  readonly timestamp: bigint;
}

/**
 * A transaction to send: `to` undefined creates a contract; `gas` undefined = estimate (a reverting
 * simulation fails before sending).
 */
export interface TxRequest {
  readonly to?: AddrHex;
  readonly data: Hex;
  readonly value?: bigint;
  readonly gas?: bigint;
}

interface NonceSlot {
  next: number | undefined;
  lock: Promise<void>;
  /** Hashes sent but not yet waited for: only while there are some is the local nonce trusted. */
  readonly inFlight: Set<string>;
}

/**
 * One connection to an Ethereum node: chain head and time, transaction sending with local nonce
 * management (one account's transactions can be in flight together), confirmation depth, and the
 * mapping of failures to `TxFailedError` (with revert reason), `TxTimedOutError` and
 * `ChainNotReachableError`. Shared by the funder and the adjudicator.
 */
export class EthChain {
  readonly client: PublicClient<Transport, Chain | undefined>;
  readonly confirmations: number;
  readonly pollingIntervalMs: number;
  readonly txTimeoutMs: number;
  readonly logger: Logger;
  #chainId: Promise<number> | undefined;
  readonly #nonces = new Map<string, NonceSlot>();

  constructor(opts: EthChainOptions) {
    this.client =
      typeof opts.client === "string"
        ? createPublicClient({ transport: http(opts.client, { retryCount: 0 }), cacheTime: 0 })
        : opts.client;
    this.confirmations = Math.max(1, opts.confirmations ?? 12);
    this.pollingIntervalMs = opts.pollingIntervalMs ?? 4_000;
    this.txTimeoutMs = opts.txTimeoutMs ?? 600_000;
    this.logger = opts.logger ?? silentLogger;
  }

  /** Runs an RPC call; connection failures become `ChainNotReachableError`. */
  async rpc<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof PerunError) throw err;
      if (isUnreachable(err))
        throw new ChainNotReachableError(`chain not reachable (${what})`, { cause: err });
      throw err;
    }
  }

  chainId(): Promise<number> {
    this.#chainId ??= this.rpc("eth_chainId", () => this.client.getChainId());
    this.#chainId.catch(() => {
      this.#chainId = undefined;
    });
    return this.#chainId;
  }

  /** The latest block. */
  async head(): Promise<BlockHead> {
    const b = await this.rpc("eth_getBlockByNumber", () => this.client.getBlock({ blockTag: "latest" }));
    return { number: b.number, hash: b.hash, timestamp: b.timestamp };
  }

  /** The highest block with `confirmations` confirmations (−1 if none yet). */
  confirmedNumber(head: BlockHead): bigint {
    return head.number - BigInt(this.confirmations) + 1n;
  }

  /** Waits one polling interval; rejects with `AbortError` on abort. */
  pause(signal?: AbortSignal, ms = this.pollingIntervalMs): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortError(signal.reason));
        return;
      }
      const onAbort = () => {
        clearTimeout(t);
        reject(new AbortError(signal?.reason));
      };
      const t = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Resolves once a block with timestamp ≥ `time` exists (chain time, never the local clock). */
  async waitForChainTime(time: bigint, signal?: AbortSignal): Promise<BlockHead> {
    for (;;) {
      if (signal?.aborted) throw new AbortError(signal.reason);
      const h = await this.head();
      if (h.timestamp >= time) return h;
      await this.pause(signal);
    }
  }

  /**
   * Signs and sends a transaction from `account` and waits until it is mined with the configured
   * confirmations. Throws `TxFailedError` (simulation or on-chain revert, with the reason),
   * `TxTimedOutError`, `ChainNotReachableError` or `AbortError` (the transaction may still be mined).
   */
  async send(
    account: LocalAccount,
    tx: TxRequest,
    opts: { label: string; signal?: AbortSignal },
  ): Promise<TransactionReceipt> {
    const hash = await this.submit(account, tx, opts);
    return this.waitForReceipt(hash, account, tx, opts);
  }

  /** Signs and broadcasts (no waiting for mining); returns the transaction hash. */
  async submit(
    account: LocalAccount,
    tx: TxRequest,
    opts: { label: string; signal?: AbortSignal },
  ): Promise<Hex> {
    if (opts.signal?.aborted) throw new AbortError(opts.signal.reason);
    const chainId = await this.chainId();
    let gas = tx.gas;
    if (gas === undefined) {
      try {
        const estimate = await this.rpc("eth_estimateGas", () =>
          this.client.estimateGas({
            account: account.address,
            ...(tx.to !== undefined && { to: tx.to }),
            data: tx.data,
            value: tx.value ?? 0n,
          }),
        );
        gas = (estimate * 12n) / 10n + 10_000n;
      } catch (err) {
        if (err instanceof PerunError) throw err;
        throw new TxFailedError(opts.label, revertReasonOf(err) ?? shortMessage(err), { cause: err });
      }
    }
    const fees = await this.rpc("fees", () => this.client.estimateFeesPerGas());
    return this.#withNonce(account.address, async (nonce) => {
      const raw = await account.signTransaction({
        chainId,
        type: "eip1559",
        ...(tx.to !== undefined && { to: tx.to }),
        data: tx.data,
        value: tx.value ?? 0n,
        gas,
        nonce,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      const hash = await this.rpc("eth_sendRawTransaction", () =>
        this.client.sendRawTransaction({ serializedTransaction: raw }),
      );
      this.logger.debug("tx sent", { label: opts.label, hash, nonce });
      this.#slot(account.address).inFlight.add(hash);
      return hash;
    });
  }

  /** Waits for the receipt with the configured confirmations, surviving reorgs that re-mine the tx. */
  async waitForReceipt(
    hash: Hex,
    account: LocalAccount,
    tx: TxRequest,
    opts: { label: string; signal?: AbortSignal },
  ): Promise<TransactionReceipt> {
    try {
      return await this.#waitForReceipt(hash, account, tx, opts);
    } finally {
      this.#slot(account.address).inFlight.delete(hash);
    }
  }

  async #waitForReceipt(
    hash: Hex,
    account: LocalAccount,
    tx: TxRequest,
    opts: { label: string; signal?: AbortSignal },
  ): Promise<TransactionReceipt> {
    const deadline = Date.now() + this.txTimeoutMs;
    for (;;) {
      if (Date.now() > deadline) throw new TxTimedOutError(opts.label, hash);
      const receipt = await this.#receipt(hash);
      if (receipt) {
        const head = await this.head();
        if (this.confirmedNumber(head) >= receipt.blockNumber) {
          // re-check: the receipt must still be in the canonical chain at this depth
          const again = await this.#receipt(hash);
          if (again && again.blockHash === receipt.blockHash) {
            if (again.status === "success") return again;
            const reason = await this.#replayReason(account, tx, again.blockNumber);
            throw new TxFailedError(opts.label, reason, { txHash: hash });
          }
        }
      }
      await this.pause(opts.signal, Math.min(this.pollingIntervalMs, 50));
    }
  }

  async #receipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.rpc("eth_getTransactionReceipt", () => this.client.getTransactionReceipt({ hash }));
    } catch (err) {
      if (err instanceof ChainNotReachableError) throw err;
      return undefined; // not mined (yet), or dropped by a reorg
    }
  }

  async #replayReason(
    account: LocalAccount,
    tx: TxRequest,
    blockNumber: bigint,
  ): Promise<string | undefined> {
    try {
      await this.client.call({
        account: account.address,
        ...(tx.to !== undefined && { to: tx.to }),
        data: tx.data,
        value: tx.value ?? 0n,
        blockNumber,
      });
      return undefined;
    } catch (err) {
      return revertReasonOf(err);
    }
  }

  #slot(address: string): NonceSlot {
    const key = address.toLowerCase();
    let slot = this.#nonces.get(key);
    if (!slot) {
      slot = { next: undefined, lock: Promise.resolve(), inFlight: new Set() };
      this.#nonces.set(key, slot);
    }
    return slot;
  }

  // Serialises nonce assignment and broadcast per account, not mining: several txs of one account
  // can be in flight. The next nonce is max(pending count on chain, locally expected); the local
  // value is only trusted while own transactions are in flight (a reorg or a restarted node may
  // have dropped them, and a stale local nonce would leave every later tx stuck).
  async #withNonce<T>(address: string, send: (nonce: number) => Promise<T>): Promise<T> {
    const s = this.#slot(address);
    const previous = s.lock;
    let release = () => {};
    s.lock = new Promise<void>((r) => {
      release = r;
    });
    await previous;
    try {
      const pending = await this.rpc("eth_getTransactionCount", () =>
        this.client.getTransactionCount({ address: address as AddrHex, blockTag: "pending" }),
      );
      const nonce = s.inFlight.size > 0 ? Math.max(pending, s.next ?? 0) : pending;
      try {
        const out = await send(nonce);
        s.next = nonce + 1;
        return out;
      } catch (err) {
        s.next = undefined;
        throw err;
      }
    } finally {
      release();
    }
  }
}

function shortMessage(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null) {
    const m = (err as { shortMessage?: unknown }).shortMessage ?? (err as { message?: unknown }).message;
    if (typeof m === "string") return m.split("\n")[0];
  }
  return undefined;
}
