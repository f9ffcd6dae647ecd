import { availableParallelism } from "node:os";
import type { CryptoCosts } from "./crypto-bench.js";
import { levelDb, type NodeOptions, type NodePair, startNodePair } from "./node-pair.js";
import type { Row } from "./row.js";
import type { Sizes } from "./sizes.js";
import { quantile } from "./stats.js";
import type { CpuResult, TimedResult } from "./worker-protocol.js";

/** Seconds of signature work one update needs at least: both sides sign once and verify once. */
function cryptoPerUpdate(c: CryptoCosts): number {
  return 2 * c.signStateSec + 2 * c.verifyStateSec;
}

function cpuMs(before: CpuResult, after: CpuResult): number {
  return after.userMs + after.systemMs - before.userMs - before.systemMs;
}

/**
 * Warms up (`warmup` untimed updates per channel), then times `perChannel` updates on each of the
 * first `channels` channels, concurrently; also returns the CPU milliseconds per update that
 * each process spent in the timed part.
 */
async function timedUpdates(
  pair: NodePair,
  channels: number,
  perChannel: number,
  warmup: number,
): Promise<
  TimedResult & { readonly aliceCpuMs: number; readonly bobCpuMs: number; readonly fsyncs: number }
> {
  const { alice, bob } = pair;
  if (warmup > 0) await alice.call("update", { channels, perChannel: warmup });
  const [a0, b0, s0] = await Promise.all([
    alice.call("cpu", null),
    bob.call("cpu", null),
    alice.call("stats", null),
  ]);
  const r = await alice.call("update", { channels, perChannel });
  const [a1, b1, s1] = await Promise.all([
    alice.call("cpu", null),
    bob.call("cpu", null),
    alice.call("stats", null),
  ]);
  const n = r.latenciesMs.length;
  return {
    ...r,
    aliceCpuMs: cpuMs(a0, a1) / n,
    bobCpuMs: cpuMs(b0, b1) / n,
    fsyncs: (s1.batches - s0.batches) / n,
  };
}

function cpuNote(
  r: TimedResult & { aliceCpuMs: number; bobCpuMs: number; fsyncs: number },
  costs: CryptoCosts,
): string {
  const crypto = (costs.signStateSec + costs.verifyStateSec) * 1000;
  // Cores the two node processes kept busy on average: below the machine's cores means they
  // waited (for fsync, the peer, or CPU taken by other processes).
  const busy = ((r.aliceCpuMs + r.bobCpuMs) * r.latenciesMs.length) / r.elapsedMs;
  return `CPU/update: Alice ${r.aliceCpuMs.toFixed(2)} ms, Bob ${r.bobCpuMs.toFixed(2)} ms (sign+verify ${crypto.toFixed(2)} ms), ${busy.toFixed(2)} cores busy; ${r.fsyncs.toFixed(1)} LevelDB batches/update at Alice`;
}

/**
 * `update-seq`: one channel between two processes over TCP, durable LevelDB on both sides,
 * sequential updates proposed by Alice. Floor: 1 / (2·sign + 2·verify).
 */
export async function updateSeqBench(opts: NodeOptions, sizes: Sizes, costs: CryptoCosts): Promise<Row[]> {
  const pair = await startNodePair(opts);
  try {
    await pair.alice.call("open", { peerWire: pair.bobInfo.wire, count: 1, concurrency: 1 });
    const r = await timedUpdates(pair, 1, sizes.updateSeq.updates, sizes.updateSeq.warmup);
    const perSecond = (r.latenciesMs.length * 1000) / r.elapsedMs;
    const floorPerSecond = 1 / cryptoPerUpdate(costs);
    const floorMs = cryptoPerUpdate(costs) * 1000;
    const p50 = quantile(r.latenciesMs, 0.5);
    const p99 = quantile(r.latenciesMs, 0.99);
    const b = "update-seq";
    return [
      {
        benchmark: b,
        metric: "throughput",
        value: perSecond,
        unit: "updates/s",
        floor: floorPerSecond,
        ratio: perSecond / floorPerSecond,
        target: "≥ 70 % of floor",
        note: `${r.latenciesMs.length} updates, 1 channel, 2 processes, TCP, ${levelDb(opts)}; ${cpuNote(r, costs)}`,
      },
      {
        benchmark: b,
        metric: "latency p50",
        value: p50,
        unit: "ms",
        floor: floorMs,
        ratio: floorMs / p50,
        ...(costs.signer === "native" && { target: "≤ 2 ms" }),
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
      await pair.alice.call("open", { peerWire: pair.bobInfo.wire, count: channels, concurrency: channels });
      const perChannel = Math.max(1, Math.round(sizes.updatePar.updatesTotal / channels));
      const r = await timedUpdates(pair, channels, perChannel, sizes.updatePar.warmup);
      const perSecond = (r.latenciesMs.length * 1000) / r.elapsedMs;
      rows.push({
        benchmark: "update-par",
        metric: `${channels} channels`,
        value: perSecond,
        unit: "updates/s",
        floor: ceiling,
        ratio: perSecond / ceiling,
        target,
        note: `${r.latenciesMs.length} updates, ${cores} cores; latency p50 ${quantile(r.latenciesMs, 0.5).toFixed(1)} ms, p99 ${quantile(r.latenciesMs, 0.99).toFixed(1)} ms; ${cpuNote(r, costs)}`,
      });
    } finally {
      await pair.close();
    }
  }
  return rows;
}
