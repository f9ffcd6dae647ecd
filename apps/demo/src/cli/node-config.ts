import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fromHex } from "@perun-ts/core";
import { UsageError } from "../errors.js";
import { type HostPort, parseHostPort } from "./host-port.js";

/** A peer the node knows: a short name, its address (hex) and where it listens. */
export interface PeerConfig {
  readonly name: string;
  /** Wire and on-chain address, `0x` + 40 hex digits. */
  readonly address: string;
  readonly at: HostPort;
}

/** Which chain the node uses. */
export type BackendKind = "sim" | "eth";

/** Everything a `perun` node is started with (from a config file, overridden by flags). */
export interface NodeConfig {
  readonly name: string;
  /** The node's secp256k1 secret key: its wire identity and its on-chain account. */
  readonly key: Uint8Array;
  readonly listen: HostPort;
  readonly backend: BackendKind;
  /** sim: where the shared sim ledger server listens. */
  readonly ledger?: HostPort;
  /** eth: the chain's JSON-RPC URL. */
  readonly rpcUrl?: string;
  /** eth: deployed contract addresses. */
  readonly adjudicator?: string;
  readonly assetHolder?: string;
  /** Where the node keeps its data (channel database, control socket). */
  readonly dataDir: string;
  /** Challenge duration of the channels this node proposes, in seconds. */
  readonly challengeDuration: bigint;
  readonly peers: readonly PeerConfig[];
}

/** The raw (unvalidated) form: what a JSON config file or the flags provide. */
export interface RawNodeConfig {
  name?: unknown;
  key?: unknown;
  listen?: unknown;
  backend?: unknown;
  ledger?: unknown;
  rpcUrl?: unknown;
  adjudicator?: unknown;
  assetHolder?: unknown;
  dataDir?: unknown;
  challengeDuration?: unknown;
  peers?: unknown;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const NAME = /^[a-z][a-z0-9_-]{0,31}$/i;

function text(v: unknown, what: string): string {
  if (typeof v !== "string" || v.trim() === "") throw new UsageError(`${what} must be a non-empty string`);
  return v.trim();
}

function parseKey(v: unknown): Uint8Array {
  const s = text(v, "key");
  let b: Uint8Array;
  try {
    b = fromHex(s);
  } catch {
    throw new UsageError("key must be hex (0x + 64 hex digits)");
  }
  if (b.length !== 32) throw new UsageError(`key must be 32 bytes, got ${b.length}`);
  return b;
}

function parseAddress(v: unknown, what: string): string {
  const s = text(v, what);
  if (!ADDRESS.test(s)) throw new UsageError(`${what} "${s}" is not an address (0x + 40 hex digits)`);
  return s.toLowerCase();
}

/** Parses a peer given as "name=0xADDRESS@host:port" (the --peer flag). */
export function parsePeerFlag(s: string): PeerConfig {
  const m = /^([^=]+)=([^@]+)@(.+)$/.exec(s.trim());
  if (!m) throw new UsageError(`peer "${s}" must look like name=0xADDRESS@host:port`);
  return parsePeer(m[1], { address: m[2], at: m[3] });
}

function parsePeer(name: unknown, v: unknown): PeerConfig {
  const n = text(name, "peer name");
  if (!NAME.test(n)) throw new UsageError(`peer name "${n}" must be a word of letters, digits, - or _`);
  if (typeof v !== "object" || v === null) {
    throw new UsageError(`peer "${n}" must be an object {"address": "0x…", "at": "host:port"}`);
  }
  const r = v as Record<string, unknown>;
  return {
    name: n,
    address: parseAddress(r.address, `address of peer "${n}"`),
    at: parseHostPort(text(r.at, `"at" of peer "${n}"`), `"at" of peer "${n}"`),
  };
}

function parsePeers(v: unknown): PeerConfig[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) {
    return v.map((p: unknown) =>
      parsePeer(typeof p === "object" && p !== null ? (p as Record<string, unknown>).name : undefined, p),
    );
  }
  if (typeof v !== "object" || v === null)
    throw new UsageError('"peers" must be an object {name: {address, at}}');
  return Object.entries(v as Record<string, unknown>).map(([name, p]) => parsePeer(name, p));
}

/**
 * Validates a raw config into a `NodeConfig`. Relative `dataDir`s are resolved against `baseDir`.
 * @throws UsageError naming the first bad field.
 */
export function validateNodeConfig(raw: RawNodeConfig, baseDir = process.cwd()): NodeConfig {
  const name = raw.name === undefined ? "node" : text(raw.name, "name");
  if (!NAME.test(name)) throw new UsageError(`name "${name}" must be a word of letters, digits, - or _`);
  if (raw.key === undefined)
    throw new UsageError('a key is required (--key or "key" in the config; `perun keygen` makes one)');
  const key = parseKey(raw.key);
  const listen = parseHostPort(
    raw.listen === undefined ? "127.0.0.1:0" : text(raw.listen, "listen"),
    "listen",
  );
  const backend = raw.backend === undefined ? "sim" : text(raw.backend, "backend");
  if (backend !== "sim" && backend !== "eth")
    throw new UsageError(`backend must be sim or eth, got "${backend}"`);
  let challengeDuration = 60n;
  if (raw.challengeDuration !== undefined) {
    const c = raw.challengeDuration;
    const s = typeof c === "number" || typeof c === "string" ? String(c) : "";
    if (!/^\d{1,10}$/.test(s) || BigInt(s) === 0n) {
      throw new UsageError("challengeDuration must be a positive number of seconds");
    }
    challengeDuration = BigInt(s);
  }
  const peers = parsePeers(raw.peers);
  const names = new Set<string>();
  for (const p of peers) {
    if (names.has(p.name)) throw new UsageError(`peer "${p.name}" is configured twice`);
    names.add(p.name);
  }
  const cfg: NodeConfig = {
    name,
    key,
    listen,
    backend,
    dataDir: resolve(baseDir, raw.dataDir === undefined ? `perun-${name}` : text(raw.dataDir, "dataDir")),
    challengeDuration,
    peers,
    ...(raw.ledger === undefined ? {} : { ledger: parseHostPort(text(raw.ledger, "ledger"), "ledger") }),
    ...(raw.rpcUrl === undefined ? {} : { rpcUrl: text(raw.rpcUrl, "rpcUrl") }),
    ...(raw.adjudicator === undefined ? {} : { adjudicator: parseAddress(raw.adjudicator, "adjudicator") }),
    ...(raw.assetHolder === undefined ? {} : { assetHolder: parseAddress(raw.assetHolder, "assetHolder") }),
  };
  if (backend === "sim" && !cfg.ledger) {
    throw new UsageError(
      "backend sim needs the sim ledger's address (--ledger host:port; `perun ledger` starts one)",
    );
  }
  if (backend === "eth" && (!cfg.rpcUrl || !cfg.adjudicator || !cfg.assetHolder)) {
    throw new UsageError("backend eth needs rpcUrl, adjudicator and assetHolder");
  }
  return cfg;
}

/**
 * Reads a JSON config file (raw; flags are merged on top by the caller).
 * @throws UsageError if it cannot be read or is not a JSON object.
 */
export function readConfigFile(path: string): { raw: RawNodeConfig; baseDir: string } {
  let textContent: string;
  try {
    textContent = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read config ${path}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(textContent);
  } catch (e) {
    throw new UsageError(`config ${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new UsageError(`config ${path} must be a JSON object`);
  }
  return { raw: v as RawNodeConfig, baseDir: dirname(resolve(path)) };
}
