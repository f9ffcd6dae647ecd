import { availableParallelism } from "node:os";
import type { CryptoCosts } from "./crypto-bench.js";
import { type NodeOptions, startNodePair } from "./node-pair.js";
import type { Row } from "./row.js";
import type { Sizes } from "./sizes.js";
import { quantile } from "./stats.js";

/** Seconds of signature work one update needs at least: both sides sign once and verify once. */
function cryptoPerUpdate(c: CryptoCosts): number {
  return 2 * c.signStateSec + 2 * c.verifyStateSec;
}

/**
 * `update-seq`: one channel between two processes over TCP, durable LevelDB on both sides,
 * sequential updates proposed by Alice. Floor: 1 / (2·sign + 2·verify).
 */
export async function updateSeqBench(opts: NodeOptions, sizes: Sizes, costs: CryptoCosts): Promise<Row[]> {
  const pair = await startNodePair(opts);
  try {
    const { alice, bobInfo } = pair;
    await alice.call("open", { peerWire: bobInfo.wire, count: 1, concurrency: 1 });
    const before = await alice.call("stats", null);
    const r = await alice.call("update", {
      channels: 1,
      perChannel: sizes.updateSeq.updates,
      warmup: sizes.updateSeq.warmup,
    });
    const after = await alice.call("stats", null);
    const perSecond = (r.latenciesMs.length * 1000) / r.elapsedMs;
    const floorPerSecond = 1 / cryptoPerUpdate(costs);
    const floorMs = cryptoPerUpdate(costs) * 1000;
    const p50 = quantile(r.latenciesMs, 0.5);
    const p99 = quantile(r.latenciesMs, 0.99);
    const b = "update-seq";
    const note = `${r.latenciesMs.length} updates, 1 channel, 2 processes, TCP, durable LevelDB (Alice: ${
      after.batches - before.batches
    } fsync'd batches)`;
    return [
      {
        benchmark: b,
        metric: "throughput",
        value: perSecond,
        unit: "updates/s",
        floor: floorPerSecond,
        ratio: perSecond / floorPerSecond,
        target: "≥ 70 % of floor",
        note,
      },
      {
        benchmark: b,
        metric: "latency p50",
        value: p50,
        unit: "ms",
        floor: floorMs,
        ratio: floorMs / p50,
        target: costs.signer === "native" ? "≤ 2 ms" : "",
      },
      { benchmark: b, metric: "latency p99", value: p99, unit: "ms", floor: floorMs, ratio: floorMs / p99 },
    ];
  } finally {
    await pair.close();
  }
}

/**
 * `update-par`: the same two processes, N channels updated concurrently (each channel's updates
 * in sequence). Ceiling: cores / (2·(sign + verify)).
 */
export async function updateParBench(opts: NodeOptions, sizes: Sizes, costs: CryptoCosts): Promise<Row[]> {
  const rows: Row[] = [];
  const cores = availableParallelism();
  const ceiling = cores / cryptoPerUpdate(costs);
  const target = costs.signer === "native" ? "≥ 70 % of ceiling, ≥ 2,000/s" : "≥ 70 % of ceiling, ≥ 270/s";
  for (const channels of sizes.updatePar.channels) {
    const pair = await startNodePair(opts);
    try {
      const { alice, bobInfo } = pair;
      await alice.call("open", { peerWire: bobInfo.wire, count: channels, concurrency: channels });
      const perChannel = Math.max(1, Math.round(sizes.updatePar.updatesTotal / channels));
      const r = await alice.call("update", { channels, perChannel, warmup: sizes.updatePar.warmup });
      const perSecond = (r.latenciesMs.length * 1000) / r.elapsedMs;
      rows.push({
        benchmark: "update-par",
        metric: `${channels} channels`,
        value: perSecond,
        unit: "updates/s",
        floor: ceiling,
        ratio: perSecond / ceiling,
        target,
        note: `${r.latenciesMs.length} updates, ${cores} cores; latency p50 ${quantile(r.latenciesMs, 0.5).toFixed(1)} ms, p99 ${quantile(r.latenciesMs, 0.99).toFixed(1)} ms`,
      });
    } finally {
      await pair.close();
    }
  }
  return rows;
}
