import {
  ANVIL_DEFAULT_MNEMONIC,
  type AnvilInstance,
  deployPerun,
  deriveAccount,
  EthChain,
  startAnvil,
} from "@perun-ts/backend-eth";
import { levelDb, type NodeOptions, type StartedNode, startNodePair, startNodes } from "./node-pair.js";
import { notAvailable, type Row } from "./row.js";
import type { Sizes } from "./sizes.js";
import { quantile } from "./stats.js";

/**
 * `open`: ledger channel open+fund, one at a time, between two processes over TCP with durable
 * LevelDB; the sim ledger is replicated between the processes (deposits relayed over IPC).
 */
export async function openSimBench(opts: NodeOptions, sizes: Sizes): Promise<Row[]> {
  const pair = await startNodePair(opts);
  try {
    const { alice, bobInfo } = pair;
    await alice.call("open", { peerWire: bobInfo.wire, count: 2, concurrency: 1 }); // warm-up
    const r = await alice.call("open", { peerWire: bobInfo.wire, count: sizes.open.count, concurrency: 1 });
    return [
      {
        benchmark: "open",
        metric: "ledger channel, sim ledger: latency p50",
        value: quantile(r.latenciesMs, 0.5),
        unit: "ms",
        note: `${r.latenciesMs.length} sequential opens, 2 processes, TCP, ${levelDb(opts)}; p99 ${quantile(r.latenciesMs, 0.99).toFixed(1)} ms`,
      },
    ];
  } finally {
    await pair.close();
  }
}

/**
 * `open` on anvil: backend-eth in both processes (ETH deposits through AssetHolderETH, one
 * confirmation, 20 ms polling), contracts deployed fresh. Not available if anvil does not start.
 */
export async function openAnvilBench(opts: NodeOptions, sizes: Sizes): Promise<Row[]> {
  const metric = "ledger channel, anvil: latency p50";
  let anvil: AnvilInstance;
  try {
    anvil = await startAnvil();
  } catch (e) {
    return [
      notAvailable("open", metric, `anvil did not start: ${e instanceof Error ? e.message : String(e)}`),
    ];
  }
  try {
    const chain = new EthChain({ client: anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 20 });
    const deployment = await deployPerun(chain, deriveAccount(ANVIL_DEFAULT_MNEMONIC, 0).txAccount);
    const pair = await startNodePair(opts, {
      rpcUrl: anvil.rpcUrl,
      adjudicator: deployment.adjudicator.hex,
      assetHolder: deployment.ethAsset.holder.hex,
    });
    try {
      const { alice, bobInfo } = pair;
      await alice.call("open", { peerWire: bobInfo.wire, count: 1, concurrency: 1 }); // warm-up
      const count = Math.max(2, Math.round(sizes.open.count / 5));
      const r = await alice.call("open", { peerWire: bobInfo.wire, count, concurrency: 1 });
      return [
        {
          benchmark: "open",
          metric,
          value: quantile(r.latenciesMs, 0.5),
          unit: "ms",
          note: `${count} sequential opens, backend-eth (signer: noble), 2 deposit txs, 1 confirmation, 20 ms polling; p99 ${quantile(r.latenciesMs, 0.99).toFixed(1)} ms`,
        },
      ];
    } finally {
      await pair.close();
    }
  } finally {
    await anvil.stop();
  }
}

/**
 * `open` of a virtual channel: three processes (Alice, the hub Ingrid, Bob), Alice–Ingrid and
 * Bob–Ingrid ledger channels on the replicated sim ledger, then Alice opens virtual channels
 * with Bob through Ingrid, one after another (each locks 1/1 in both parents).
 */
export async function openVirtualBench(opts: NodeOptions, sizes: Sizes): Promise<Row[]> {
  const { nodes, close } = await startNodes(["alice", "ingrid", "bob"], opts);
  try {
    const [alice, ingrid, bob] = nodes as [StartedNode, StartedNode, StartedNode];
    const [ai, bi] = await Promise.all([
      alice.handle.call("open", { peerWire: ingrid.info.wire, count: 1, concurrency: 1 }),
      bob.handle.call("open", { peerWire: ingrid.info.wire, count: 1, concurrency: 1 }),
    ]);
    const parents: [Uint8Array, Uint8Array] = [ai.ids[0] as Uint8Array, bi.ids[0] as Uint8Array];
    // One open at a time, each timed at Alice; before the next one, Bob must hold the previous
    // channel: he rejects a proposal while his parent channel is still finishing the last funding
    // update ("parent channel is not in phase Acting").
    const latenciesMs: number[] = [];
    const warmup = 2;
    for (let i = 0; i < warmup + sizes.open.count; i++) {
      const one = await alice.handle.call("openVirtual", { peerWire: bob.info.wire, parents, count: 1 });
      if (i >= warmup) latenciesMs.push(...one.latenciesMs);
      await bob.handle.call("waitChannels", { count: 2 + i }); // B–I and the virtual channels so far
    }
    const r = { latenciesMs };
    return [
      {
        benchmark: "open",
        metric: "virtual channel through a hub: latency p50",
        value: quantile(r.latenciesMs, 0.5),
        unit: "ms",
        note: `${r.latenciesMs.length} sequential opens, 3 processes (Alice, hub, Bob), TCP, ${levelDb(opts)}; p99 ${quantile(r.latenciesMs, 0.99).toFixed(1)} ms`,
      },
    ];
  } finally {
    await close();
  }
}
