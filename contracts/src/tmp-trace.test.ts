import { afterAll, beforeAll, it } from "vitest";
import { adjudicatorAbi } from "./generated/Adjudicator.js";
import { assetHolderEthAbi } from "./generated/AssetHolderETH.js";
import {
  alice,
  bob,
  channelId,
  type Fixture,
  fundingId,
  makeParams,
  makeState,
  setupFixture,
  signAll,
} from "./test-support/perun.js";

let f: Fixture;
beforeAll(async () => {
  f = await setupFixture();
});
afterAll(async () => {
  await f.chain.stop();
});
const ETH = 10n ** 18n;
function calldataGas(hex: string) {
  let g = 0;
  for (let i = 2; i < hex.length; i += 2) g += hex.slice(i, i + 2) === "00" ? 4 : 16;
  return g;
}
it("trace", async () => {
  const params = makeParams({ nonce: 77n });
  for (const w of [alice, bob])
    await f.chain.send({
      address: f.ethHolder,
      abi: assetHolderEthAbi,
      functionName: "deposit",
      args: [fundingId(channelId(params), w.address), ETH],
      value: ETH,
      from: w,
    });
  const state = makeState(params, {
    version: 5n,
    isFinal: true,
    outcome: { assets: [f.ethHolder], balances: [[(ETH * 4n) / 10n, (ETH * 16n) / 10n]], locked: [] },
  });
  const r = await f.chain.send({
    address: f.adjudicator,
    abi: adjudicatorAbi,
    functionName: "concludeFinal",
    args: [params, state, await signAll([alice, bob], state)],
    from: alice,
  });
  for (const fn of ["hashState", "channelID"] as const) {
    const data =
      fn === "hashState"
        ? (await import("viem")).encodeFunctionData({ abi: adjudicatorAbi, functionName: fn, args: [state] })
        : (await import("viem")).encodeFunctionData({
            abi: adjudicatorAbi,
            functionName: fn,
            args: [params],
          });
    const g = await f.chain.publicClient.estimateGas({ account: alice, to: f.adjudicator, data });
    console.log(fn, g, "exec", g - 21000n - BigInt(calldataGas(data)));
  }
  const tx = await f.chain.publicClient.getTransaction({ hash: r.transactionHash });
  console.log(
    "gasUsed",
    r.gasUsed,
    "calldata gas",
    calldataGas(tx.input),
    "bytes",
    (tx.input.length - 2) / 2,
  );
  const trace = await f.chain.publicClient.request({
    method: "debug_traceTransaction" as never,
    params: [r.transactionHash, { tracer: "callTracer" }] as never,
  });
  console.log(JSON.stringify(trace, (k, v) => (k === "input" || k === "output" ? undefined : v), 1));
  const t2: any = await f.chain.publicClient.request({
    method: "debug_traceTransaction" as never,
    params: [r.transactionHash, { disableStack: true, disableMemory: true }] as never,
  });
  const byOp: Record<string, number> = {};
  for (const l of t2.structLogs) byOp[l.op] = (byOp[l.op] ?? 0) + l.gasCost;
  console.log(
    Object.entries(byOp)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25),
  );
  const sl = t2.structLogs
    .filter((l: any) => ["SSTORE", "SLOAD", "CALL", "STATICCALL", "LOG2", "KECCAK256"].includes(l.op))
    .map((l: any) => `${l.depth} ${l.op} ${l.gasCost}`);
  console.log(sl.join("\n"));
});
