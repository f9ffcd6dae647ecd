// NetBus test helpers: buses with seeded identities on loopback TCP or Unix sockets.
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimAccount } from "@perun-ts/backend-sim";
import { type Address, type Logger, silentLogger } from "@perun-ts/core";
import { account, makeCodec, verifySignature } from "../fixtures.test.helper.js";
import { FramedConnection } from "./framed-connection.js";
import { dialerHandshake } from "./handshake.js";
import { AddressBook, type NetAddress } from "./net-address.js";
import { NetBus, type NetBusOptions } from "./net-bus.js";
import type { WireIdentity } from "./wire-identity.js";

export type Transport = "tcp" | "unix";

/** A fresh directory for Unix socket paths; removed by the returned cleanup. */
export function socketDir(): { path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "perun-wire-"));
  return { path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function listenAddress(
  transport: Transport,
  dir: { path(name: string): string },
  name: string,
): NetAddress {
  return transport === "tcp" ? { host: "127.0.0.1", port: 0 } : { path: dir.path(`${name}.sock`) };
}

export interface NetNode {
  readonly identity: SimAccount;
  readonly bus: NetBus;
  readonly at: NetAddress;
}

/** `n` NetBuses (identities account(0..n-1) + offset), listening, each knowing all others. */
export async function netNodes(
  n: number,
  transport: Transport,
  dir: { path(name: string): string },
  opts: Partial<NetBusOptions> & { offset?: number } = {},
): Promise<NetNode[]> {
  const book = new AddressBook();
  const nodes: NetNode[] = [];
  for (let i = 0; i < n; i++) {
    const identity = account(i + (opts.offset ?? 0));
    const bus = new NetBus({
      identity,
      verifySignature,
      codec: makeCodec(),
      addressBook: book,
      retryDelayMs: 20,
      ...opts,
    });
    const at = await bus.listen(
      listenAddress(transport, dir, `n${i}-${Math.random().toString(36).slice(2)}`),
    );
    book.set(identity.address, at);
    nodes.push({ identity, bus, at });
  }
  return nodes;
}

/** A logger that keeps every entry (as one line of text) for assertions. */
export function recordingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const make = (fields: Readonly<Record<string, unknown>>): Logger => {
    const emit = (level: string) => (msg: string, f?: Readonly<Record<string, unknown>>) => {
      lines.push(`${level} ${msg} ${JSON.stringify({ ...fields, ...f })}`);
    };
    return {
      debug: emit("debug"),
      info: emit("info"),
      warn: emit("warn"),
      error: emit("error"),
      child: (f) => make({ ...fields, ...f }),
    };
  };
  return Object.assign(make({}), { lines });
}

/** Opens a socket to `at` (no handshake). */
export function rawSocket(at: NetAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = "path" in at ? connect({ path: at.path }) : connect({ host: at.host, port: at.port });
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Dials `at` and runs the dialer handshake as `identity`, expecting `peer`; returns the raw connection. */
export async function rawDial(
  at: NetAddress,
  identity: WireIdentity,
  peer: Address,
): Promise<FramedConnection> {
  const socket = await rawSocket(at);
  const conn = new FramedConnection(socket, makeCodec(), silentLogger, "raw");
  try {
    await dialerHandshake(
      { conn, codec: makeCodec(), identity, verify: verifySignature, signal: AbortSignal.timeout(5_000) },
      peer,
    );
  } catch (err) {
    conn.destroy();
    throw err;
  }
  return conn;
}

/** Resolves once `cond()` holds, checking after each turn of the event loop (bounded by the test timeout). */
export async function eventually(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
