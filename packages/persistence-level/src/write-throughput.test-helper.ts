// Measures persister write throughput (not a test; prints figures for the README):
//
//   node src/run-ts.test-helper.mjs src/write-throughput.test-helper.ts
//
// Each write is `staged` of an open two-party channel (one record of ~0.5 KB). "sequential" is one
// call at a time; "concurrent" has 64 channels writing at once, each waiting for its previous
// write (what 64 busy channels of a client do). Median of 3 runs per configuration.
import type { ChannelSource } from "@perun-ts/core";
import { makeFixture, peerOf, TestChannel } from "./channel-fixture.test-helper.js";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

interface Config {
  readonly name: string;
  readonly durable: boolean;
  readonly groupCommit: boolean;
  readonly channels: number;
  readonly writesPerChannel: number;
}

const configs: Config[] = [
  {
    name: "durable, sequential (1 channel)",
    durable: true,
    groupCommit: true,
    channels: 1,
    writesPerChannel: 1500,
  },
  {
    name: "durable, sequential (1 channel), no group commit",
    durable: true,
    groupCommit: false,
    channels: 1,
    writesPerChannel: 1500,
  },
  {
    name: "durable, 64 channels, no group commit",
    durable: true,
    groupCommit: false,
    channels: 64,
    writesPerChannel: 60,
  },
  {
    name: "durable, 64 channels, group commit",
    durable: true,
    groupCommit: true,
    channels: 64,
    writesPerChannel: 60,
  },
  {
    name: "non-durable, sequential (1 channel)",
    durable: false,
    groupCommit: true,
    channels: 1,
    writesPerChannel: 4000,
  },
  {
    name: "non-durable, 64 channels, group commit",
    durable: false,
    groupCommit: true,
    channels: 64,
    writesPerChannel: 100,
  },
];

const f = makeFixture(2);

async function once(c: Config): Promise<{ perSecond: number; batches: number; calls: number }> {
  const dir = tempDir("perun-bench-");
  try {
    const pr = await LevelPersistRestorer.open(dir.path, {
      ...f.ctx,
      durable: c.durable,
      groupCommit: c.groupCommit,
    });
    const sources: ChannelSource[] = [];
    for (let i = 0; i < c.channels; i++) {
      const ch = new TestChannel(f, peerOf(f, i % 2), BigInt(i));
      await ch.created(pr);
      await ch.open(pr);
      await ch.stage(pr);
      sources.push(ch.machine.source());
    }
    const before = pr.stats;
    const start = process.hrtime.bigint();
    await Promise.all(
      sources.map(async (src) => {
        for (let k = 0; k < c.writesPerChannel; k++) await pr.staged(src);
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const after = pr.stats;
    await pr.close();
    const calls = after.calls - before.calls;
    return { perSecond: calls / seconds, batches: after.batches - before.batches, calls };
  } finally {
    dir.remove();
  }
}

console.log(`node ${process.version}, ${new Date().toISOString()}`);
console.log("| configuration | writes/s | writes per batch (fsync) |");
console.log("|---|---|---|");
for (const c of configs) {
  const runs = [];
  for (let r = 0; r < 3; r++) runs.push(await once(c));
  runs.sort((a, b) => a.perSecond - b.perSecond);
  const m = runs[1] as (typeof runs)[number];
  console.log(`| ${c.name} | ${Math.round(m.perSecond)} | ${(m.calls / m.batches).toFixed(1)} |`);
}
