import { createServer, type Server, type Socket } from "node:net";
import {
  ClockTimeout,
  ManualClock,
  type SimAsset,
  type SimChannelBackend,
  type SimLedger,
  type SimLedgerSubscription,
} from "@perun-ts/backend-sim";
import {
  type Account,
  type Address,
  type AdjudicatorEvent,
  type AppRegistry,
  type DecodeContext,
  DecodeError,
  type Params,
  PerunError,
} from "@perun-ts/core";
import { errorLine } from "../errors.js";
import { isRecord, readJsonLines, writeJsonLine } from "./json-lines.js";
import { bytesField, decode, encode, hex, intField, uintField } from "./ledger-protocol.js";

/** Options of {@link LedgerServer}. */
export interface LedgerServerOptions {
  readonly ledger: SimLedger;
  readonly backend: SimChannelBackend;
  readonly apps: AppRegistry;
  /** The one asset the demo uses (shown to clients by `info`). */
  readonly asset: SimAsset;
}

/** An account stand-in on the server side: the sim ledger only reads the address of a request's account. */
function addressOnly(address: Address): Account {
  return {
    address,
    signData: () => Promise.reject(new PerunError("the ledger server holds no keys")),
  };
}

/** The event as it travels: core values encoded, the timeout as ledger time. */
function encodeEvent(e: AdjudicatorEvent): Record<string, unknown> {
  const at = e.timeout instanceof ClockTimeout ? e.timeout.at.toString() : "0";
  const base = { type: e.type, id: hex(e.id), version: e.version.toString(), timeoutAt: at };
  if (e.type === "registered") return { ...base, state: encode.state(e.state), sigs: e.sigs.map(hex) };
  if (e.type === "progressed") return { ...base, state: encode.state(e.state), actorIdx: e.actorIdx };
  return base;
}

interface Connection {
  readonly socket: Socket;
  readonly pending: Map<number, AbortController>;
  readonly subs: Map<number, SimLedgerSubscription>;
  readonly loops: Set<Promise<void>>;
  nextSub: number;
}

/**
 * Hosts a `SimLedger` for several node processes: the demo's stand-in for a blockchain node. It
 * speaks a small JSON-lines protocol (see ledger-protocol.ts) and is meant for localhost only —
 * like a dev chain it trusts the caller: a request names the participant index and the ledger
 * applies the contract rules (signatures on states are verified; who sends a request is not).
 */
export class LedgerServer {
  readonly #opts: LedgerServerOptions;
  readonly #ctx: DecodeContext;
  readonly #conns = new Set<Connection>();
  #server: Server | undefined;

  constructor(opts: LedgerServerOptions) {
    this.#opts = opts;
    this.#ctx = { backend: opts.backend, apps: opts.apps };
  }

  /** Starts listening; resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        const a = server.address();
        resolve(typeof a === "object" && a ? a.port : port);
      });
    });
  }

  #accept(socket: Socket): void {
    const conn: Connection = { socket, pending: new Map(), subs: new Map(), loops: new Set(), nextSub: 1 };
    this.#conns.add(conn);
    socket.on("error", () => {});
    socket.on("close", () => {
      for (const c of conn.pending.values()) c.abort(new PerunError("connection closed"));
      for (const s of conn.subs.values()) s.close();
      this.#conns.delete(conn);
    });
    readJsonLines(
      socket,
      (v) => this.#request(conn, v),
      (reason) => {
        writeJsonLine(socket, { id: null, ok: false, error: { name: "DecodeError", message: reason } });
        socket.destroy();
      },
    );
  }

  #request(conn: Connection, v: unknown): void {
    if (!isRecord(v) || typeof v.id !== "number" || typeof v.op !== "string") {
      writeJsonLine(conn.socket, {
        id: null,
        ok: false,
        error: { name: "DecodeError", message: "a request needs a numeric id and an op" },
      });
      return;
    }
    const id = v.id;
    if (v.op === "cancel") {
      const target = typeof v.target === "number" ? conn.pending.get(v.target) : undefined;
      target?.abort(new PerunError("cancelled by the client"));
      return;
    }
    const ctrl = new AbortController();
    conn.pending.set(id, ctrl);
    this.#run(conn, v, ctrl.signal)
      .then(
        (result) => writeJsonLine(conn.socket, { id, ok: true, result: result ?? null }),
        (e: unknown) =>
          writeJsonLine(conn.socket, {
            id,
            ok: false,
            error: { name: e instanceof Error ? e.name : "Error", message: errorLine(e) },
          }),
      )
      .finally(() => conn.pending.delete(id));
  }

  async #run(conn: Connection, r: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    const { ledger, asset, backend } = this.#opts;
    const ctx = this.#ctx;
    const opts = { signal };
    switch (r.op) {
      case "info":
        return { asset: hex(asset.bytes()), now: ledger.clock.now().toString() };
      case "now":
        return ledger.clock.now().toString();
      case "advance": {
        if (!(ledger.clock instanceof ManualClock)) {
          throw new PerunError("this ledger runs on real time; its clock cannot be advanced");
        }
        ledger.clock.advance(uintField(r, "seconds"));
        return ledger.clock.now().toString();
      }
      case "waitUntil":
        await ledger.clock.waitUntil(uintField(r, "at"), opts);
        return null;
      case "balanceOf":
        return ledger.balanceOf(backend.decodeAddress(bytesField(r, "address")), asset).toString();
      case "mint":
        ledger.mint(backend.decodeAddress(bytesField(r, "address")), asset, uintField(r, "amount"));
        return null;
      case "fund": {
        const params = decode.params(r, "params", ctx);
        const state = decode.state(r, "state", ctx, params.parts.length);
        const rows = r.agreement;
        if (!Array.isArray(rows) || !rows.every((row) => Array.isArray(row))) {
          throw new DecodeError('field "agreement" must be an array of arrays');
        }
        const agreement = (rows as unknown[][]).map((row) => row.map((x) => uintField({ x }, "x")));
        await ledger.funder().fund({ params, state, idx: this.#idx(r, params), agreement }, opts);
        return null;
      }
      case "register": {
        const params = decode.params(r, "params", ctx);
        const idx = this.#idx(r, params);
        const tx = decode.tx(r, "tx", ctx, params.parts.length);
        const account = addressOnly(params.parts[idx] as Address);
        await ledger.adjudicator().register({ params, account, tx, idx, secondary: false }, [], opts);
        return null;
      }
      case "progress": {
        const params = decode.params(r, "params", ctx);
        const idx = this.#idx(r, params);
        const tx = decode.tx(r, "tx", ctx, params.parts.length);
        const newState = decode.state(r, "newState", ctx, params.parts.length);
        const account = addressOnly(params.parts[idx] as Address);
        const sig = bytesField(r, "sig");
        await ledger
          .adjudicator()
          .progress({ params, account, tx, idx, secondary: false, newState, sig }, opts);
        return null;
      }
      case "withdraw": {
        const params = decode.params(r, "params", ctx);
        const idx = this.#idx(r, params);
        const tx = decode.tx(r, "tx", ctx, params.parts.length);
        const account = addressOnly(params.parts[idx] as Address);
        await ledger.adjudicator().withdraw({ params, account, tx, idx, secondary: false }, new Map(), opts);
        return null;
      }
      case "subscribe": {
        const sub = await ledger.subscribe(bytesField(r, "channelId"), opts);
        const subId = conn.nextSub++;
        conn.subs.set(subId, sub);
        const loop = (async () => {
          for await (const e of sub) writeJsonLine(conn.socket, { sub: subId, event: encodeEvent(e) });
        })().finally(() => {
          conn.subs.delete(subId);
          conn.loops.delete(loop);
        });
        conn.loops.add(loop);
        return subId;
      }
      case "unsubscribe": {
        const subId = intField(r, "sub");
        conn.subs.get(subId)?.close();
        return null;
      }
      default:
        throw new DecodeError(`unknown op "${String(r.op)}"`);
    }
  }

  #idx(r: Record<string, unknown>, params: Params): number {
    const idx = intField(r, "idx");
    if (idx >= params.parts.length) throw new DecodeError(`participant index ${idx} out of range`);
    return idx;
  }

  /** Closes every connection (ending its subscriptions and waits) and stops listening. */
  async close(): Promise<void> {
    for (const c of this.#conns) c.socket.destroy();
    const loops = [...this.#conns].flatMap((c) => [...c.loops]);
    await Promise.allSettled(loops);
    const server = this.#server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
