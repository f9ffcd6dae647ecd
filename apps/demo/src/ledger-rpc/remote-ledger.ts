import { connect, type Socket } from "node:net";
import {
  AbortError,
  type Address,
  type Adjudicator,
  type AdjudicatorEvent,
  type AdjudicatorReq,
  type Asset,
  AsyncQueue,
  type CallOptions,
  type ChannelId,
  type DecodeContext,
  DecodeError,
  type Funder,
  type FundingReq,
  type ProgressReq,
  type Timeout,
} from "@perun-ts/core";
import { LedgerRpcError } from "../errors.js";
import { isRecord, readJsonLines, writeJsonLine } from "./json-lines.js";
import { bytesField, decode, encode, hex, intField, uintField } from "./ledger-protocol.js";

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/** A `Timeout` at ledger time `at`, checked and awaited through the ledger server. */
class RemoteTimeout implements Timeout {
  constructor(
    readonly ledger: RemoteLedger,
    readonly at: bigint,
  ) {}

  async isElapsed(): Promise<boolean> {
    return (await this.ledger.now()) >= this.at;
  }

  async wait(opts: CallOptions = {}): Promise<void> {
    await this.ledger.call("waitUntil", { at: this.at.toString() }, opts.signal);
  }

  toString(): string {
    return `timeout@${this.at}`;
  }
}

/**
 * The node side of the sim ledger server: `Funder` and `Adjudicator` views that forward every call
 * to the shared `SimLedger` of another process (the demo's stand-in for a chain RPC endpoint).
 */
export class RemoteLedger {
  readonly #socket: Socket;
  readonly #ctx: DecodeContext;
  readonly #pending = new Map<number, Pending>();
  readonly #subs = new Map<number, AsyncQueue<AdjudicatorEvent>>();
  /** Events that arrived before their `subscribe` answer. */
  readonly #early = new Map<number, AdjudicatorEvent[]>();
  #nextId = 1;
  #closed = false;
  /** The asset the ledger holds (from `info`). */
  asset!: Asset;

  private constructor(socket: Socket, ctx: DecodeContext) {
    this.#socket = socket;
    this.#ctx = ctx;
    readJsonLines(
      socket,
      (v) => this.#receive(v),
      (reason) => this.#fail(new LedgerRpcError(`ledger server sent ${reason}`)),
    );
    socket.on("error", (e) => this.#fail(new LedgerRpcError(`ledger connection failed: ${e.message}`)));
    socket.on("close", () => this.#fail(new LedgerRpcError("ledger connection closed")));
  }

  /**
   * Connects to a ledger server and reads its asset.
   * @throws LedgerRpcError if it cannot be reached.
   */
  static async connect(
    host: string,
    port: number,
    ctx: DecodeContext,
    decodeAsset: (b: Uint8Array) => Asset,
  ): Promise<RemoteLedger> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port }, () => {
        s.off("error", onError);
        resolve(s);
      });
      const onError = (e: Error) =>
        reject(new LedgerRpcError(`cannot reach the sim ledger at ${host}:${port}: ${e.message}`));
      s.once("error", onError);
    });
    const ledger = new RemoteLedger(socket, ctx);
    const info = await ledger.call("info", {});
    if (!isRecord(info)) throw new LedgerRpcError("malformed info answer");
    ledger.asset = decodeAsset(bytesField(info, "asset"));
    return ledger;
  }

  #fail(e: LedgerRpcError): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    for (const s of this.#subs.values()) s.close();
    this.#socket.destroy();
  }

  #receive(v: unknown): void {
    if (!isRecord(v)) return;
    if (typeof v.sub === "number") {
      let ev: AdjudicatorEvent;
      try {
        ev = this.#decodeEvent(v.event);
      } catch {
        return; // a malformed event from our own ledger server: nothing sensible to do but skip it
      }
      const sub = this.#subs.get(v.sub);
      if (sub) sub.push(ev);
      else {
        const list = this.#early.get(v.sub) ?? [];
        list.push(ev);
        this.#early.set(v.sub, list);
      }
      return;
    }
    if (typeof v.id !== "number") return;
    const p = this.#pending.get(v.id);
    if (!p) return;
    this.#pending.delete(v.id);
    if (v.ok === true) p.resolve(v.result);
    else {
      const err = isRecord(v.error) ? v.error : {};
      p.reject(new LedgerRpcError(typeof err.message === "string" ? err.message : "ledger error"));
    }
  }

  #decodeEvent(v: unknown): AdjudicatorEvent {
    if (!isRecord(v)) throw new DecodeError("event must be an object");
    const id: ChannelId = bytesField(v, "id");
    const version = uintField(v, "version");
    const timeout = new RemoteTimeout(this, uintField(v, "timeoutAt"));
    switch (v.type) {
      case "registered": {
        const sigs = v.sigs;
        if (!Array.isArray(sigs)) throw new DecodeError("sigs must be an array");
        return {
          type: "registered",
          id,
          version,
          timeout,
          state: decode.state(v, "state", this.#ctx),
          sigs: sigs.map((s) => bytesField({ s }, "s")),
        };
      }
      case "progressed":
        return {
          type: "progressed",
          id,
          version,
          timeout,
          state: decode.state(v, "state", this.#ctx),
          actorIdx: intField(v, "actorIdx"),
        };
      case "concluded":
        return { type: "concluded", id, version, timeout };
      default:
        throw new DecodeError(`unknown event type ${String(v.type)}`);
    }
  }

  /** Sends one request and waits for its answer; aborting sends a cancellation. */
  call(op: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    if (this.#closed) return Promise.reject(new LedgerRpcError("ledger connection closed"));
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(id);
        writeJsonLine(this.#socket, { id: this.#nextId++, op: "cancel", target: id });
        reject(new AbortError(signal?.reason));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (v) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
      writeJsonLine(this.#socket, { ...args, id, op });
    });
  }

  /** Current ledger time (seconds). */
  async now(): Promise<bigint> {
    return uintField({ v: await this.call("now", {}) }, "v");
  }

  /** Moves ledger time forward (only on a ledger with a manual clock). */
  async advance(seconds: bigint): Promise<bigint> {
    return uintField({ v: await this.call("advance", { seconds: seconds.toString() }) }, "v");
  }

  /** On-ledger balance of `address` (outside channels). */
  async balanceOf(address: Address): Promise<bigint> {
    return uintField({ v: await this.call("balanceOf", { address: hex(address.bytes()) }) }, "v");
  }

  /** Faucet: credits `amount` to `address`. */
  async mint(address: Address, amount: bigint): Promise<void> {
    await this.call("mint", { address: hex(address.bytes()), amount: amount.toString() });
  }

  /** A `Funder` forwarding to the ledger (each participant deposits from its own address). */
  funder(): Funder {
    return {
      fund: async (req: FundingReq, opts: CallOptions = {}) => {
        await this.call(
          "fund",
          {
            params: encode.params(req.params),
            state: encode.state(req.state),
            idx: req.idx,
            agreement: req.agreement.map((row) => row.map((x) => x.toString())),
          },
          opts.signal,
        );
      },
    };
  }

  /** An `Adjudicator` forwarding to the ledger (withdrawals pay the participant's own address). */
  adjudicator(): Adjudicator {
    const base = (req: AdjudicatorReq) => ({
      params: encode.params(req.params),
      tx: encode.tx(req.tx),
      idx: req.idx,
    });
    return {
      register: async (req, subChannels, opts: CallOptions = {}) => {
        if (subChannels.length > 0) throw new LedgerRpcError("the demo ledger client has no sub-channels");
        await this.call("register", base(req), opts.signal);
      },
      progress: async (req: ProgressReq, opts: CallOptions = {}) => {
        await this.call(
          "progress",
          { ...base(req), newState: encode.state(req.newState), sig: hex(req.sig) },
          opts.signal,
        );
      },
      withdraw: async (req, _subStates, opts: CallOptions = {}) => {
        await this.call("withdraw", base(req), opts.signal);
      },
      subscribe: async (id: ChannelId, opts: CallOptions = {}) => {
        const subId = intField({ v: await this.call("subscribe", { channelId: hex(id) }, opts.signal) }, "v");
        const sub = new AsyncQueue<AdjudicatorEvent>(() => {
          this.#subs.delete(subId);
          if (!this.#closed) void this.call("unsubscribe", { sub: subId }).catch(() => {});
        });
        this.#subs.set(subId, sub);
        for (const e of this.#early.get(subId) ?? []) sub.push(e);
        this.#early.delete(subId);
        return sub;
      },
    };
  }

  /** Closes the connection; pending calls fail with `LedgerRpcError`. */
  close(): void {
    this.#fail(new LedgerRpcError("ledger connection closed"));
  }
}
