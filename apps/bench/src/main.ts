#!/usr/bin/env node
// `pnpm bench [benchmark ...] [--signer noble|native] [--quick]`: runs the benchmarks, prints a
// table and writes the JSON results (see README "Performance").
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { type BenchArgs, type BenchmarkName, parseArgs, USAGE, UsageError } from "./args.js";
import { gasBench } from "./bench-gas.js";
import { openAnvilBench, openSimBench, openVirtualBench } from "./bench-open.js";
import { scaleBench } from "./bench-scale.js";
import { updateParBench, updateSeqBench } from "./bench-update.js";
import { type CryptoCosts, cryptoBench } from "./crypto-bench.js";
import { gitCommit, loadAverage, machineInfo, markdownTable, textTable } from "./report.js";
import type { Row } from "./row.js";
import { benchSecp256k1 } from "./signer.js";
import { FULL, QUICK } from "./sizes.js";

/** Default location of the results: apps/bench/results/latest.json. */
const DEFAULT_OUT = join(import.meta.dirname, "..", "results", "latest.json");

async function runBenchmarks(
  args: BenchArgs,
): Promise<{ rows: Row[]; failures: string[]; signerUsed: string }> {
  const sizes = args.quick ? QUICK : FULL;
  const secp256k1 = benchSecp256k1(args.signer);
  const nodeOpts = { signer: args.signer, profileDir: args.profileDir, durable: args.durable };
  const rows: Row[] = [];
  const failures: string[] = [];
  const needsFloor = args.benchmarks.some((b) => b === "update-seq" || b === "update-par");
  let costs: CryptoCosts | undefined;

  const run = async (name: BenchmarkName | "crypto (for floors)", f: () => Promise<Row[]>): Promise<void> => {
    process.stderr.write(`bench: ${name} …\n`);
    const t0 = Date.now();
    try {
      rows.push(...(await f()));
      process.stderr.write(`bench: ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      failures.push(`${name}: ${msg}`);
      rows.push({ benchmark: name, metric: "(failed)", value: null, unit: "", note: `failed: ${msg}` });
      process.stderr.write(`bench: ${name} FAILED: ${msg}\n`);
    }
  };

  if (args.benchmarks.includes("crypto") || needsFloor) {
    await run(args.benchmarks.includes("crypto") ? "crypto" : "crypto (for floors)", async () => {
      const r = await cryptoBench(secp256k1, args.quick);
      costs = r.costs;
      return r.rows;
    });
  }
  for (const b of args.benchmarks) {
    switch (b) {
      case "crypto":
        break;
      case "update-seq":
        await run(b, () => updateSeqBench(nodeOpts, sizes, need(costs)));
        break;
      case "update-par":
        await run(b, () => updateParBench(nodeOpts, sizes, need(costs)));
        break;
      case "open":
        await run(b, () => openSimBench(nodeOpts, sizes));
        await run(b, () => openAnvilBench(nodeOpts, sizes));
        await run(b, () => openVirtualBench(nodeOpts, sizes));
        break;
      case "scale":
        await run(b, () => scaleBench(nodeOpts, sizes));
        break;
      case "gas":
        await run(b, () => gasBench());
        break;
    }
  }
  return { rows, failures, signerUsed: secp256k1.name };
}

function need(costs: CryptoCosts | undefined): CryptoCosts {
  if (!costs) throw new Error("the crypto benchmark failed, so there is no floor to compare against");
  return costs;
}

async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.profileDir) await mkdir(resolve(args.profileDir), { recursive: true });
  const started = new Date();
  const machine = machineInfo();
  const { rows, failures, signerUsed } = await runBenchmarks({
    ...args,
    profileDir: args.profileDir && resolve(args.profileDir),
  });
  const finished = new Date();
  const results = {
    schema: 1,
    startedAt: started.toISOString(),
    durationSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    command: `pnpm bench ${argv.join(" ")}`.trim(),
    benchmarks: args.benchmarks,
    quick: args.quick,
    durable: args.durable,
    signer: { requested: args.signer, used: signerUsed },
    node: process.version,
    machine: { ...machine, loadAverageAtEnd: loadAverage() },
    commit: gitCommit(import.meta.dirname),
    rows,
    failures,
  };
  const out = resolve(args.out ?? DEFAULT_OUT);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(
    `perun-ts bench — signer ${signerUsed}, node ${process.version}, ${machine.availableParallelism} cores (${machine.cpuModel}), load average ${machine.loadAverageAtStart.join(" ")} at start${args.quick ? ", QUICK sizes" : ""}${args.durable ? "" : ", NO FSYNC (diagnostic)"}\n\n`,
  );
  process.stdout.write(`${textTable(rows)}\n\nresults: ${out}\n`);
  if (process.env.BENCH_MARKDOWN === "1") process.stdout.write(`\n${markdownTable(rows)}\n`);
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
