import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EthTarget } from "./node-chain.js";
import type { SignerChoice } from "./signer.js";
import { WorkerHandle } from "./worker-handle.js";
import type { InitResult } from "./worker-protocol.js";

/** Options shared by every multi-process benchmark. */
export interface NodeOptions {
  readonly signer: SignerChoice;
  readonly profileDir: string | undefined;
  /** fsync every LevelDB batch (the benchmark of record); false only for the `--no-fsync` diagnostic. */
  readonly durable: boolean;
}

/** How the nodes' LevelDB writes, for notes. */
export function levelDb(opts: NodeOptions): string {
  return opts.durable ? "durable LevelDB" : "LevelDB WITHOUT fsync";
}

/** Two node processes ("alice" proposes and drives updates, "bob" accepts) connected over TCP. */
export interface NodePair {
  readonly alice: WorkerHandle;
  readonly bob: WorkerHandle;
  readonly aliceInfo: InitResult;
  readonly bobInfo: InitResult;
  readonly aliceDbDir: string;
  /** Stops both processes and deletes their databases. */
  close(): Promise<void>;
}

/** A running node process and what it reported at start. */
export interface StartedNode {
  readonly handle: WorkerHandle;
  readonly info: InitResult;
  readonly dbDir: string;
}

/**
 * Starts one node process per name (fresh LevelDB directories, seeds "bench <name>"), relays
 * every sim deposit to all others and lets every node reach every other one. On backend-eth when
 * `eth` names a chain with the Perun contracts (node i uses anvil accounts 2i+1 and 2i+2).
 */
export async function startNodes(
  names: readonly string[],
  opts: NodeOptions,
  eth?: Omit<EthTarget, "accountIndex">,
): Promise<{ readonly nodes: StartedNode[]; close(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "perun-bench-"));
  const handles = names.map((name) => WorkerHandle.spawn(name, { profileDir: opts.profileDir }));
  for (const h of handles) h.relayDepositsTo(handles.filter((o) => o !== h));
  const close = async () => {
    await Promise.all(handles.map((h) => h.stop()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    const nodes = await Promise.all(
      handles.map(async (handle, i): Promise<StartedNode> => {
        const name = names[i] as string;
        const dbDir = join(root, name);
        const info = await handle.call("init", {
          name,
          seed: `bench ${name}`,
          signer: opts.signer,
          dbDir,
          durable: opts.durable,
          ...(eth && { eth: { ...eth, accountIndex: 2 * i + 1 } }),
        });
        return { handle, info, dbDir };
      }),
    );
    for (const a of nodes) {
      for (const b of nodes) {
        if (a !== b) await a.handle.call("connect", { peerWire: b.info.wire, port: b.info.port });
      }
    }
    return { nodes, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Starts Alice and Bob with fresh LevelDB directories and connects them; on the sim backend,
 * or on backend-eth when `eth` names a chain with the Perun contracts.
 */
export async function startNodePair(
  opts: NodeOptions,
  eth?: Omit<EthTarget, "accountIndex">,
): Promise<NodePair> {
  const { nodes, close } = await startNodes(["alice", "bob"], opts, eth);
  const [alice, bob] = nodes as [StartedNode, StartedNode];
  return {
    alice: alice.handle,
    bob: bob.handle,
    aliceInfo: alice.info,
    bobInfo: bob.info,
    aliceDbDir: alice.dbDir,
    close,
  };
}
