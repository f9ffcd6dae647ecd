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

/**
 * Starts Alice and Bob with fresh durable LevelDB directories and connects them; on the sim backend,
 * or on backend-eth when `eth` names a chain with the Perun contracts.
 */
export async function startNodePair(
  opts: NodeOptions,
  eth?: Omit<EthTarget, "accountIndex">,
): Promise<NodePair> {
  const root = await mkdtemp(join(tmpdir(), "perun-bench-"));
  const aliceDbDir = join(root, "alice");
  const alice = WorkerHandle.spawn("alice", { profileDir: opts.profileDir });
  const bob = WorkerHandle.spawn("bob", { profileDir: opts.profileDir });
  alice.relayDepositsTo([bob]);
  bob.relayDepositsTo([alice]);
  const close = async () => {
    await Promise.all([alice.stop(), bob.stop()]);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const [aliceInfo, bobInfo] = await Promise.all([
      alice.call("init", {
        name: "alice",
        seed: "bench alice",
        signer: opts.signer,
        dbDir: aliceDbDir,
        durable: opts.durable,
        ...(eth && { eth: { ...eth, accountIndex: 1 } }),
      }),
      bob.call("init", {
        name: "bob",
        seed: "bench bob",
        signer: opts.signer,
        dbDir: join(root, "bob"),
        durable: opts.durable,
        ...(eth && { eth: { ...eth, accountIndex: 3 } }),
      }),
    ]);
    await alice.call("connect", { peerWire: bobInfo.wire, port: bobInfo.port });
    await bob.call("connect", { peerWire: aliceInfo.wire, port: aliceInfo.port });
    return { alice, bob, aliceInfo, bobInfo, aliceDbDir, close };
  } catch (e) {
    await close();
    throw e;
  }
}
