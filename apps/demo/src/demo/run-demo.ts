import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { formatEth, formatEthRounded } from "../eth-amount.js";
import { progressBar } from "../progress-bar.js";
import type { DemoAccount, DemoChain } from "./demo-chain.js";
import { startEthDemoChain } from "./eth-demo-chain.js";
import { freePort } from "./free-port.js";
import { DemoStepError, type EventRecord, NodeProcess } from "./node-process.js";
import { startSimDemoChain } from "./sim-demo-chain.js";
import { renderTable } from "./summary-table.js";

const ETH = 10n ** 18n;
const START_BALANCE = 100n * ETH;
const CHALLENGE_DURATION = 60n;
/** More gas than this (0.1 ETH) for the demo's few transactions means something is wrong. */
const MAX_GAS = ETH / 10n;

/** Options of the scripted demo. */
export interface DemoOptions {
  readonly backend: "sim" | "eth";
  /** Off-chain payments in the first channel (1,000 by default). */
  readonly payments: number;
  /** The CLI entry (dist/main.js) the node processes run. */
  readonly script: string;
  readonly out: Writable;
  /** Redraw the progress bar in place. */
  readonly tty: boolean;
}

/** What the demo measured; also printed as the summary table. */
export interface DemoSummary {
  readonly payments: number;
  readonly paymentsPerSecond: number;
  readonly alice: { readonly before: bigint; readonly after: bigint; readonly gas?: bigint };
  readonly bob: {
    readonly before: bigint;
    readonly after: bigint;
    readonly held: bigint;
    readonly gas?: bigint;
  };
}

function bigintOf(v: unknown, what: string): bigint {
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  throw new DemoStepError(`unexpected ${what}: ${String(v)}`);
}

function channelOf(result: EventRecord): Record<string, unknown> {
  const data = result.data as Record<string, unknown> | undefined;
  const ch = data?.channel as Record<string, unknown> | undefined;
  if (!ch) throw new DemoStepError(`result of "${String(result.command)}" carries no channel`);
  return ch;
}

function expectEqual(what: string, got: bigint, want: bigint): void {
  if (got !== want) throw new DemoStepError(`${what}: expected ${formatEth(want)}, got ${formatEth(got)}`);
}

/**
 * The one-command demo: a chain, Alice and Bob as separate `perun node` processes talking over
 * TCP; a channel with many off-chain payments and a cooperative close; then a channel where Bob
 * registers a stale state and goes offline, Alice's watchtower refutes it and Alice withdraws after
 * the challenge period. Resolves with the summary; rejects with the failing step.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const print = (s = "") => opts.out.write(`${s}\n`);
  const step = (n: number, s: string) => print(`\n${n}. ${s}`);
  print(
    `perun demo: two payment-channel nodes (Alice, Bob) as separate processes over TCP, backend ${opts.backend}`,
  );

  const chain: DemoChain = opts.backend === "eth" ? await startEthDemoChain() : await startSimDemoChain();
  /** On-chain balance check; on a chain with gas the balance may fall short by a little gas. */
  const check = (what: string, got: bigint, want: bigint): bigint => {
    const gas = want - got;
    if (gas === 0n || (chain.hasGas && gas > 0n && gas < MAX_GAS)) return gas;
    throw new DemoStepError(
      `${what}: expected ${formatEth(want)}${chain.hasGas ? " minus gas" : ""}, got ${formatEth(got)}`,
    );
  };
  const dataRoot = mkdtempSync(join(tmpdir(), "perun-demo-"));
  const nodes: NodeProcess[] = [];
  let streaming = false;
  try {
    print(`chain: ${chain.description}`);
    if ("deployGas" in chain && typeof chain.deployGas === "bigint") {
      print(`contracts deployed for ${formatEthRounded(chain.deployGas)} of gas`);
    }
    const alice: DemoAccount = await chain.newAccount(START_BALANCE);
    const bob: DemoAccount = await chain.newAccount(START_BALANCE);
    const [pa, pb] = [await freePort(), await freePort()];
    const nodeArgs = (
      name: string,
      me: DemoAccount,
      port: number,
      peer: string,
      other: DemoAccount,
      otherPort: number,
    ) => [
      "--name",
      name,
      "--key",
      me.key,
      "--listen",
      `127.0.0.1:${port}`,
      "--data-dir",
      join(dataRoot, name),
      "--challenge-duration",
      CHALLENGE_DURATION.toString(),
      "--peer",
      `${peer}=${other.address}@127.0.0.1:${otherPort}`,
      ...chain.nodeArgs(),
    ];
    const A = new NodeProcess("Alice", opts.script, nodeArgs("alice", alice, pa, "bob", bob, pb));
    const B = new NodeProcess("Bob", opts.script, nodeArgs("bob", bob, pb, "alice", alice, pa));
    nodes.push(A, B);
    for (const n of nodes) {
      n.onEvent = (e) => {
        if (e.type === "ready" || (streaming && e.type === "received")) return;
        if (typeof e.text === "string") print(`   [${n.name}] ${e.text}`);
      };
    }

    step(1, "Start Alice's and Bob's nodes");
    const ready = await Promise.all(
      nodes.map((n) => n.waitFor((e) => e.type === "ready", "start-up", 20_000)),
    );
    ready.forEach((r, i) => {
      print(`   ${(nodes[i] as NodeProcess).name}: ${String(r.address)} on ${String(r.listen)}`);
    });
    const before = { alice: await chain.balanceOf(alice.address), bob: await chain.balanceOf(bob.address) };
    print(
      `   on-chain balances: Alice ${formatEthRounded(before.alice)}, Bob ${formatEthRounded(before.bob)}`,
    );

    step(2, "Alice opens a channel with Bob: each deposits 10 ETH on chain");
    const open1 = await A.command("open bob 10 10");
    const ch1 = channelOf(open1);
    print(`   ${String(open1.message)}`);
    await B.waitFor((e) => e.type === "opened", "the channel opening");

    const n = opts.payments;
    const amount = "0.001";
    const amountWei = ETH / 1000n;
    step(3, `Alice streams ${n.toLocaleString("en-US")} off-chain payments of ${amount} ETH to Bob`);
    let barShown = false;
    let lastQuarter = -1;
    streaming = true;
    const paid = await A.command(`pay bob ${amount} ${n}`, (e) => {
      const done = Number(e.done);
      const total = Number(e.total);
      if (opts.tty) {
        opts.out.write(`\r   ${progressBar(done, total)}`);
        barShown = true;
      } else if (Math.floor((4 * done) / total) !== lastQuarter) {
        lastQuarter = Math.floor((4 * done) / total);
        print(`   ${progressBar(done, total)}`);
      }
    });
    if (barShown) print();
    const payData = paid.data as Record<string, unknown>;
    const rate = Number(payData.rate);
    const elapsedMs = Number(payData.elapsedMs);
    print(
      `   ${n} payments in ${(elapsedMs / 1000).toFixed(2)} s: ${rate} payments/s (each signed by both, sent over TCP)`,
    );
    const afterPay = channelOf(paid);
    expectEqual(
      "Bob's channel balance after the payments",
      bigintOf(afterPay.theirs, "balance"),
      10n * ETH + BigInt(n) * amountWei,
    );

    step(4, "Alice closes the channel cooperatively; both withdraw on chain");
    const closed = await A.command("close bob");
    print(`   ${String(closed.message)}`);
    await B.waitFor((e) => e.type === "settled", "Bob's withdrawal");
    streaming = false;
    const mid = { alice: await chain.balanceOf(alice.address), bob: await chain.balanceOf(bob.address) };
    print(
      `   on-chain balances: Alice ${formatEthRounded(before.alice)} -> ${formatEthRounded(mid.alice)}, Bob ${formatEthRounded(before.bob)} -> ${formatEthRounded(mid.bob)}`,
    );
    const moved = BigInt(n) * amountWei;
    check("Alice's on-chain balance after closing", mid.alice, before.alice - moved);
    check("Bob's on-chain balance after closing", mid.bob, before.bob + moved);

    step(5, "A second channel (5 ETH each); Bob pays Alice 3 × 1 ETH");
    const open2 = await A.command("open bob 5 5");
    const ch2 = channelOf(open2);
    const ch2Id = String(ch2.id);
    await B.waitFor(
      (e) => e.type === "opened" && (e.channel as Record<string, unknown>).id === ch2Id,
      "the second opening",
    );
    const bobPaid = await B.command("pay alice 1 3");
    print(`   ${String(bobPaid.message)}`);
    await A.waitFor((e) => e.type === "received", "Alice's receipt of the payments");
    const latest = bigintOf(channelOf(bobPaid).version, "version");

    step(6, "Bob cheats: he registers the channel's opening state (5/5) on chain and goes offline");
    const cheated = await B.command("cheat alice");
    print(`   ${String(cheated.message)}`);
    await B.stop();
    print("   Bob's node has stopped.");

    step(7, "Alice's watchtower sees the stale state and refutes it with the latest one");
    await A.waitFor(
      (e) => e.type === "chain" && e.event === "registered" && String(e.version) === String(latest),
      "the watchtower's refutation",
    );

    step(8, `Chain time moves forward by the challenge period (${CHALLENGE_DURATION} s)`);
    await chain.advanceTime(CHALLENGE_DURATION);

    step(9, "Alice settles through the adjudicator (Bob is offline) and withdraws");
    const disputed = await A.command("dispute bob");
    print(`   ${String(disputed.message)}`);
    const after = { alice: await chain.balanceOf(alice.address), bob: await chain.balanceOf(bob.address) };
    const bobHeld = await chain.heldFor(ch2Id, bob.address);
    const gas = {
      alice: check(
        "Alice's on-chain balance after the dispute",
        after.alice,
        before.alice - moved + 3n * ETH,
      ),
      bob: check("Bob's on-chain balance after the dispute", after.bob, before.bob + moved - 5n * ETH),
    };
    expectEqual("funds held on chain for Bob", bobHeld, 2n * ETH);
    await A.stop();

    const summary: DemoSummary = {
      payments: n,
      paymentsPerSecond: rate,
      alice: {
        before: before.alice,
        after: after.alice,
        ...(gas.alice === undefined ? {} : { gas: gas.alice }),
      },
      bob: {
        before: before.bob,
        after: after.bob,
        held: bobHeld,
        ...(gas.bob === undefined ? {} : { gas: gas.bob }),
      },
    };
    print("\nSummary");
    const rows: string[][] = [
      ["on chain before", formatEthRounded(before.alice), formatEthRounded(before.bob)],
      ["after channel 1 (cooperative close)", formatEthRounded(mid.alice), formatEthRounded(mid.bob)],
      ["after channel 2 (dispute)", formatEthRounded(after.alice), formatEthRounded(after.bob)],
      ["held on chain, not yet withdrawn", formatEth(0n), formatEth(bobHeld)],
    ];
    if (chain.hasGas) rows.push(["gas spent", formatEthRounded(gas.alice), formatEthRounded(gas.bob)]);
    print(renderTable(["", "Alice", "Bob"], rows));
    print(
      `off-chain payments: ${n} at ${rate} payments/s; channel ids ${String(ch1.id).slice(0, 10)}…, ${ch2Id.slice(0, 10)}…`,
    );
    print("stale state refuted by the watchtower: yes; demo finished successfully");
    return summary;
  } finally {
    for (const node of nodes) node.kill();
    await Promise.all(nodes.map((node) => node.exited));
    await chain.close();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}
