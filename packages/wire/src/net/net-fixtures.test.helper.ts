// NetBus test helpers: buses with seeded identities on loopback TCP or Unix sockets.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SimAccount } from "@perun-ts/backend-sim";
import { account, makeCodec, verifySignature } from "../fixtures.test.helper.js";
import { AddressBook, type NetAddress } from "./net-address.js";
import { NetBus, type NetBusOptions } from "./net-bus.js";

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
