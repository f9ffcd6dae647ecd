// Messages between the orchestrator (main.ts) and the node processes (node-worker.ts), sent with
// Node's "advanced" IPC serialization (structured clone: bigint and Uint8Array survive).
import type { EthTarget } from "./node-chain.js";
import type { DepositRecord } from "./replicated-ledger.js";
import type { SignerChoice } from "./signer.js";

/** How a node process sets itself up. */
export interface WorkerInit {
  /** For logs and error messages ("alice", "bob"). */
  readonly name: string;
  /** Derives the wire and participant keys; the same seed restores the same accounts. */
  readonly seed: string;
  readonly signer: SignerChoice;
  /** LevelDB directory of this node. */
  readonly dbDir: string;
  readonly durable: boolean;
  /** Run on backend-eth against these contracts instead of the sim backend. */
  readonly eth?: EthTarget;
}

export interface InitResult {
  readonly wire: Uint8Array;
  readonly participant: Uint8Array;
  readonly port: number;
  /** The secp256k1 implementation actually in use (after a possible fallback). */
  readonly signer: string;
}

export interface TimedResult {
  /** Per-operation latencies in milliseconds. */
  readonly latenciesMs: number[];
  /** Wall time of all timed operations together. */
  readonly elapsedMs: number;
}

export interface OpenResult extends TimedResult {
  /** Ids of the opened channels, in the order they were opened. */
  readonly ids: Uint8Array[];
}

export interface HeapResult {
  readonly heapUsed: number;
  readonly rss: number;
  readonly channels: number;
}

export interface RestoreResult {
  readonly restored: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly heapBefore: number;
  readonly heapAfter: number;
}

export interface CpuResult {
  readonly userMs: number;
  readonly systemMs: number;
}

export interface PersistStats {
  readonly batches: number;
  readonly calls: number;
}

/** Requests and their results. */
export interface WorkerCommands {
  init: { args: WorkerInit; result: InitResult };
  connect: { args: { peerWire: Uint8Array; port: number }; result: null };
  open: { args: { peerWire: Uint8Array; count: number; concurrency: number }; result: OpenResult };
  openVirtual: {
    args: { peerWire: Uint8Array; parents: [Uint8Array, Uint8Array]; count: number };
    result: TimedResult;
  };
  update: { args: { channels: number; perChannel: number }; result: TimedResult };
  cpu: { args: null; result: CpuResult };
  /** Resolves once the client holds at least `count` channels. */
  waitChannels: { args: { count: number }; result: null };
  heap: { args: null; result: HeapResult };
  restore: { args: null; result: RestoreResult };
  stats: { args: null; result: PersistStats };
  shutdown: { args: null; result: null };
}
export type CommandName = keyof WorkerCommands;

export type ParentMessage =
  | { readonly kind: "call"; readonly id: number; readonly cmd: CommandName; readonly args: unknown }
  | { readonly kind: "deposit"; readonly deposit: DepositRecord };

export type WorkerMessage =
  | { readonly kind: "reply"; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly kind: "reply"; readonly id: number; readonly ok: false; readonly error: string }
  | { readonly kind: "deposit"; readonly deposit: DepositRecord };
