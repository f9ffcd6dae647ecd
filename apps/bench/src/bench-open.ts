import { type NodeOptions, startNodePair } from "./node-pair.js";
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
        note: `${r.latenciesMs.length} sequential opens, 2 processes, TCP, durable LevelDB; p99 ${quantile(r.latenciesMs, 0.99).toFixed(1)} ms`,
      },
    ];
  } finally {
    await pair.close();
  }
}

/** The open benchmarks that cannot run yet, each with the reason. */
export function openUnavailableRows(): Row[] {
  return [
    notAvailable(
      "open",
      "virtual channel through a hub (3 processes)",
      "@perun-ts/client has no virtual-channel API yet (it rejects virtual channel proposals)",
    ),
  ];
}
