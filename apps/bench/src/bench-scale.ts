import { levelDb, type NodeOptions, startNodePair } from "./node-pair.js";
import type { Row } from "./row.js";
import type { Sizes } from "./sizes.js";
import { WorkerHandle } from "./worker-handle.js";

const MB = 1024 * 1024;

/**
 * `scale`: Alice opens N ledger channels with Bob (durable LevelDB), then holds them idle; we read
 * her heap (after GC) before and after. Then her process stops, a fresh process opens the same
 * database and `Client.restore`s every channel (no watcher, no peer sync); we time that.
 */
export async function scaleBench(opts: NodeOptions, sizes: Sizes): Promise<Row[]> {
  const { channels, concurrency } = sizes.scale;
  const pair = await startNodePair(opts);
  try {
    const { alice, bobInfo } = pair;
    const empty = await alice.call("heap", null);
    const opened = await alice.call("open", { peerWire: bobInfo.wire, count: channels, concurrency });
    const full = await alice.call("heap", null);
    if (full.channels !== channels)
      throw new Error(`alice holds ${full.channels} channels, expected ${channels}`);
    await alice.stop();

    const restarted = WorkerHandle.spawn("alice-restarted", { profileDir: opts.profileDir });
    let restore: Awaited<ReturnType<typeof restarted.call<"restore">>>;
    try {
      await restarted.call("init", {
        name: "alice-restarted",
        seed: "bench alice",
        signer: opts.signer,
        dbDir: pair.aliceDbDir,
        durable: opts.durable,
      });
      restore = await restarted.call("restore", null);
    } finally {
      await restarted.stop();
    }
    if (restore.restored !== channels || restore.failed !== 0) {
      throw new Error(
        `restored ${restore.restored} channels (${restore.failed} failed), expected ${channels}`,
      );
    }
    const b = "scale";
    const per = (bytes: number) => `${(bytes / channels / 1024).toFixed(2)} KiB/channel`;
    return [
      {
        benchmark: b,
        metric: `heap used, ${channels} idle channels`,
        value: full.heapUsed / MB,
        unit: "MB",
        target: "≤ 50 MB",
        note: `process total after GC; the channels add ${((full.heapUsed - empty.heapUsed) / MB).toFixed(1)} MB (${per(full.heapUsed - empty.heapUsed)})`,
      },
      {
        benchmark: b,
        metric: `restore ${channels} channels from LevelDB`,
        value: restore.elapsedMs / 1000,
        unit: "s",
        target: "≤ 5 s",
        note: `fresh process, Client.restore without watcher/sync; heap after ${(restore.heapAfter / MB).toFixed(1)} MB`,
      },
      {
        benchmark: b,
        metric: `open ${channels} channels (${concurrency} concurrent)`,
        value: (channels * 1000) / opened.elapsedMs,
        unit: "opens/s",
        note: `sim ledger, 2 processes, ${levelDb(opts)}`,
      },
    ];
  } finally {
    await pair.close();
  }
}
