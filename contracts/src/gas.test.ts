// Gas report (spec-eth §6.2 scenarios, 2 participants, anvil --hardfork prague).
// `pnpm run gas-report` (UPDATE_GAS_REPORT=1) rewrites gas-report.json and the README table; the
// normal test run fails if any operation costs more gas than the committed report says.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Address, keccak256, type TransactionReceipt, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adjudicatorAbi, adjudicatorBytecode } from "./generated/Adjudicator.js";
import { assetHolderErc20Abi, assetHolderErc20Bytecode } from "./generated/AssetHolderERC20.js";
import { assetHolderEthAbi, assetHolderEthBytecode } from "./generated/AssetHolderETH.js";
import { perunTokenAbi, perunTokenBytecode } from "./generated/PerunToken.js";
import { trivialAppAbi, trivialAppBytecode } from "./generated/TrivialApp.js";
import type { TestChain } from "./test-support/chain.js";
import {
  alice,
  bob,
  channelId,
  type Fixture,
  fundingId,
  makeParams,
  makeState,
  type Params,
  type State,
  setupFixture,
  signAll,
  signAuth,
  signState,
  type WithdrawalAuth,
} from "./test-support/perun.js";

const packageDir = join(import.meta.dirname, "..");
const reportPath = join(packageDir, "gas-report.json");
const readmePath = join(packageDir, "README.md");
const update = process.env.UPDATE_GAS_REPORT === "1";

/** Original perun-eth-contracts 73b45de, spec-eth §6.2, column "Cancun / Prague". */
const ORIGINAL: Record<string, number> = {
  "deploy Adjudicator": 2_676_043,
  "deploy AssetHolderETH": 869_281,
  "deploy AssetHolderERC20": 998_448,
  "deploy PerunToken": 764_480,
  "deploy TrivialApp": 114_369,
  "AssetHolderETH.deposit (fresh fundingID)": 45_860,
  "PerunToken.increaseAllowance (fresh)": 46_541,
  "PerunToken.approve (fresh)": 46_269,
  "AssetHolderERC20.deposit (holder's token balance 0 → >0)": 81_946,
  "AssetHolderERC20.deposit (holder already holds tokens)": 64_846,
  "register (2 assets, no sub-channels)": 104_243,
  "register refutation (newer version)": 72_446,
  "register (app channel, 1 asset)": 101_244,
  "register (ledger + 1 sub-channel, 1 asset)": 186_118,
  "progress (TrivialApp)": 75_212,
  "conclude (no app, 2 assets)": 147_495,
  "conclude (app channel after FORCEEXEC, 1 asset)": 92_840,
  "conclude (ledger + 1 sub-channel, 1 asset)": 125_897,
  "concludeFinal (1 asset)": 142_844,
  "AssetHolderETH.withdraw (full balance, new receiver)": 68_803,
  "AssetHolderERC20.withdraw": 67_706,
};

const TOTALS: Record<string, readonly string[]> = {
  "ETH happy path (2 deposits + concludeFinal + 2 withdraws)": [
    "AssetHolderETH.deposit (fresh fundingID)",
    "AssetHolderETH.deposit (fresh fundingID)",
    "concludeFinal (1 asset)",
    "AssetHolderETH.withdraw (full balance, new receiver)",
    "AssetHolderETH.withdraw (full balance, new receiver)",
  ],
  "dispute path (register + conclude, 2 assets + 2 ETH withdraws)": [
    "register (2 assets, no sub-channels)",
    "conclude (no app, 2 assets)",
    "AssetHolderETH.withdraw (full balance, new receiver)",
    "AssetHolderETH.withdraw (full balance, new receiver)",
  ],
};

interface GasReport {
  environment: Record<string, string>;
  operations: Record<string, { gas: number; original: number }>;
  totals: Record<string, { gas: number; original: number; saving: string }>;
}

const ETH = 10n ** 18n;
const measured: Record<string, number> = {};
const totalsMeasured: Record<string, number> = {};
let f: Fixture;
let chain: TestChain;
let nonce = 1000n;

function record(name: string, receipt: TransactionReceipt): void {
  expect(receipt.status).toBe("success");
  measured[name] = Number(receipt.gasUsed);
}

/** A fresh address that has never been touched (for "new receiver" withdrawals). */
function freshAddress(label: string): Address {
  return `0x${keccak256(toHex(`receiver:${label}`)).slice(26)}` as Address;
}

async function depositEth(params: Params, who: typeof alice, amount: bigint): Promise<TransactionReceipt> {
  return chain.send({
    address: f.ethHolder,
    abi: assetHolderEthAbi,
    functionName: "deposit",
    args: [fundingId(channelId(params), who.address), amount],
    value: amount,
    from: who,
  });
}

async function depositToken(params: Params, who: typeof alice, amount: bigint): Promise<TransactionReceipt> {
  await chain.send({
    address: f.token,
    abi: perunTokenAbi,
    functionName: "approve",
    args: [f.erc20Holder, amount],
    from: who,
  });
  return chain.send({
    address: f.erc20Holder,
    abi: assetHolderErc20Abi,
    functionName: "deposit",
    args: [fundingId(channelId(params), who.address), amount],
    from: who,
  });
}

async function withdraw(
  holder: Address,
  params: Params,
  who: typeof alice,
  amount: bigint,
  receiver: Address,
): Promise<TransactionReceipt> {
  const auth: WithdrawalAuth = { channelID: channelId(params), participant: who.address, receiver, amount };
  return chain.send({
    address: holder,
    abi: assetHolderEthAbi,
    functionName: "withdraw",
    args: [auth, await signAuth(who, auth)],
    from: who,
  });
}

async function register(params: Params, state: State, subs: { params: Params; state: State }[] = []) {
  const signed = async (p: Params, s: State) => ({
    params: p,
    state: s,
    sigs: await signAll([alice, bob], s),
  });
  return chain.send({
    address: f.adjudicator,
    abi: adjudicatorAbi,
    functionName: "register",
    args: [await signed(params, state), await Promise.all(subs.map((x) => signed(x.params, x.state)))],
    from: alice,
  });
}

async function passTime(seconds: bigint): Promise<void> {
  await chain.setNextTimestamp((await chain.timestamp()) + seconds);
}

beforeAll(async () => {
  f = await setupFixture();
  chain = f.chain;
});

afterAll(async () => {
  await chain?.stop();
});

describe("gas report", () => {
  it("deployments", async () => {
    const adj = await chain.deployWithReceipt(adjudicatorAbi, adjudicatorBytecode);
    record("deploy Adjudicator", adj.receipt);
    record(
      "deploy AssetHolderETH",
      (await chain.deployWithReceipt(assetHolderEthAbi, assetHolderEthBytecode, [adj.address])).receipt,
    );
    const token = await chain.deployWithReceipt(perunTokenAbi, perunTokenBytecode, [
      [alice.address, bob.address],
      10n ** 24n,
    ]);
    record("deploy PerunToken", token.receipt);
    record(
      "deploy AssetHolderERC20",
      (
        await chain.deployWithReceipt(assetHolderErc20Abi, assetHolderErc20Bytecode, [
          adj.address,
          token.address,
        ])
      ).receipt,
    );
    record("deploy TrivialApp", (await chain.deployWithReceipt(trivialAppAbi, trivialAppBytecode)).receipt);
  });

  it("ETH happy path: deposits, concludeFinal, withdraws", async () => {
    const params = makeParams({ nonce: nonce++ });
    const d1 = await depositEth(params, alice, ETH);
    const d2 = await depositEth(params, bob, ETH);
    record("AssetHolderETH.deposit (fresh fundingID)", d1);
    const state = makeState(params, {
      version: 5n,
      isFinal: true,
      outcome: { assets: [f.ethHolder], balances: [[(ETH * 4n) / 10n, (ETH * 16n) / 10n]], locked: [] },
    });
    const cf = await chain.send({
      address: f.adjudicator,
      abi: adjudicatorAbi,
      functionName: "concludeFinal",
      args: [params, state, await signAll([alice, bob], state)],
      from: alice,
    });
    record("concludeFinal (1 asset)", cf);
    const w1 = await withdraw(f.ethHolder, params, alice, (ETH * 4n) / 10n, freshAddress("happy-alice"));
    const w2 = await withdraw(f.ethHolder, params, bob, (ETH * 16n) / 10n, freshAddress("happy-bob"));
    record("AssetHolderETH.withdraw (full balance, new receiver)", w1);
    totalsMeasured["ETH happy path (2 deposits + concludeFinal + 2 withdraws)"] = [d1, d2, cf, w1, w2].reduce(
      (s, r) => s + Number(r.gasUsed),
      0,
    );
  });

  it("token approvals and ERC20 deposits/withdraw", async () => {
    const params = makeParams({ nonce: nonce++ });
    record(
      "PerunToken.increaseAllowance (fresh)",
      await chain.send({
        address: f.token,
        abi: perunTokenAbi,
        functionName: "increaseAllowance",
        args: [f.erc20Holder, ETH],
        from: alice,
      }),
    );
    record(
      "AssetHolderERC20.deposit (holder's token balance 0 → >0)",
      await chain.send({
        address: f.erc20Holder,
        abi: assetHolderErc20Abi,
        functionName: "deposit",
        args: [fundingId(channelId(params), alice.address), ETH],
        from: alice,
      }),
    );
    record(
      "PerunToken.approve (fresh)",
      await chain.send({
        address: f.token,
        abi: perunTokenAbi,
        functionName: "approve",
        args: [f.erc20Holder, ETH],
        from: bob,
      }),
    );
    record(
      "AssetHolderERC20.deposit (holder already holds tokens)",
      await chain.send({
        address: f.erc20Holder,
        abi: assetHolderErc20Abi,
        functionName: "deposit",
        args: [fundingId(channelId(params), bob.address), ETH],
        from: bob,
      }),
    );
    const state = makeState(params, {
      version: 3n,
      isFinal: true,
      outcome: { assets: [f.erc20Holder], balances: [[ETH / 2n, (ETH * 3n) / 2n]], locked: [] },
    });
    await chain.send({
      address: f.adjudicator,
      abi: adjudicatorAbi,
      functionName: "concludeFinal",
      args: [params, state, await signAll([alice, bob], state)],
      from: alice,
    });
    record(
      "AssetHolderERC20.withdraw",
      await withdraw(f.erc20Holder, params, alice, ETH / 2n, freshAddress("erc20-alice")),
    );
  });

  it("dispute path: register, refute, conclude (2 assets), withdraws", async () => {
    const params = makeParams({ nonce: nonce++ });
    const d = [
      await depositEth(params, alice, ETH),
      await depositEth(params, bob, ETH),
      await depositToken(params, alice, ETH),
      await depositToken(params, bob, ETH),
    ];
    expect(d).toHaveLength(4);
    const outcome = (v: bigint) => ({
      assets: [f.ethHolder, f.erc20Holder],
      balances: [
        [ETH - v, ETH + v],
        [ETH + v, ETH - v],
      ],
      locked: [],
    });
    const reg = await register(params, makeState(params, { version: 3n, outcome: outcome(ETH / 10n) }));
    record("register (2 assets, no sub-channels)", reg);
    const refute = makeState(params, { version: 4n, outcome: outcome(ETH / 5n) });
    record("register refutation (newer version)", await register(params, refute));
    await passTime(3601n);
    const con = await chain.send({
      address: f.adjudicator,
      abi: adjudicatorAbi,
      functionName: "conclude",
      args: [params, refute, []],
      from: alice,
    });
    record("conclude (no app, 2 assets)", con);
    const w1 = await withdraw(f.ethHolder, params, alice, ETH - ETH / 5n, freshAddress("dispute-alice"));
    const w2 = await withdraw(f.ethHolder, params, bob, ETH + ETH / 5n, freshAddress("dispute-bob"));
    totalsMeasured["dispute path (register + conclude, 2 assets + 2 ETH withdraws)"] = [
      reg,
      con,
      w1,
      w2,
    ].reduce((s, r) => s + Number(r.gasUsed), 0);
  });

  it("app channel: register, progress, conclude after FORCEEXEC", async () => {
    const params = makeParams({ nonce: nonce++, app: f.app, challengeDuration: 600n });
    await depositEth(params, alice, ETH);
    await depositEth(params, bob, ETH);
    const outcome = (v: bigint) => ({ assets: [f.ethHolder], balances: [[ETH - v, ETH + v]], locked: [] });
    const s1 = makeState(params, { version: 1n, outcome: outcome(1n), appData: "0x01" });
    record("register (app channel, 1 asset)", await register(params, s1));
    await passTime(601n);
    const s2 = makeState(params, { version: 2n, outcome: outcome(ETH / 2n), appData: "0x02" });
    record(
      "progress (TrivialApp)",
      await chain.send({
        address: f.adjudicator,
        abi: adjudicatorAbi,
        functionName: "progress",
        args: [params, s1, s2, 0n, await signState(alice, s2)],
        from: alice,
      }),
    );
    await passTime(601n);
    record(
      "conclude (app channel after FORCEEXEC, 1 asset)",
      await chain.send({
        address: f.adjudicator,
        abi: adjudicatorAbi,
        functionName: "conclude",
        args: [params, s2, []],
        from: alice,
      }),
    );
  });

  it("ledger channel with one sub-channel: register and conclude", async () => {
    const params = makeParams({ nonce: nonce++ });
    const subParams = makeParams({ nonce: nonce++, ledgerChannel: false });
    await depositEth(params, alice, ETH);
    await depositEth(params, bob, ETH);
    const sub = makeState(subParams, {
      version: 2n,
      outcome: { assets: [f.ethHolder], balances: [[ETH / 10n, ETH / 5n]], locked: [] },
    });
    const root = makeState(params, {
      version: 7n,
      outcome: {
        assets: [f.ethHolder],
        balances: [[ETH - ETH / 10n, ETH - ETH / 5n]],
        locked: [{ ID: channelId(subParams), balances: [(ETH * 3n) / 10n], indexMap: [0, 1] }],
      },
    });
    record(
      "register (ledger + 1 sub-channel, 1 asset)",
      await register(params, root, [{ params: subParams, state: sub }]),
    );
    await passTime(3601n);
    record(
      "conclude (ledger + 1 sub-channel, 1 asset)",
      await chain.send({
        address: f.adjudicator,
        abi: adjudicatorAbi,
        functionName: "conclude",
        args: [params, root, [sub]],
        from: alice,
      }),
    );
  });

  it("matches or beats the committed report", () => {
    expect(Object.keys(measured).sort()).toEqual(Object.keys(ORIGINAL).sort());
    const report: GasReport = {
      environment: {
        evm: "anvil 1.7.1 --hardfork prague (receipt gasUsed, incl. intrinsic gas and calldata)",
        compiler: "solc-js 0.8.37, optimizer on (settings in scripts/solidity.mjs)",
        original: "perun-eth-contracts 73b45de (solc 0.7.4), spec-eth §6.2 column Cancun/Prague",
      },
      operations: {},
      totals: {},
    };
    for (const name of Object.keys(ORIGINAL)) {
      report.operations[name] = { gas: measured[name] ?? Number.NaN, original: ORIGINAL[name] ?? Number.NaN };
    }
    for (const [name, ops] of Object.entries(TOTALS)) {
      const original = ops.reduce((s, op) => s + (ORIGINAL[op] ?? Number.NaN), 0);
      const gas = totalsMeasured[name] ?? Number.NaN;
      report.totals[name] = { gas, original, saving: `${((100 * (original - gas)) / original).toFixed(1)}%` };
    }
    if (update) {
      writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(readmePath, withTable(readFileSync(readmePath, "utf8"), renderTable(report)));
      return;
    }
    const committed = JSON.parse(readFileSync(reportPath, "utf8")) as GasReport;
    const increased = Object.entries(report.operations)
      .filter(([name, { gas }]) => gas > (committed.operations[name]?.gas ?? 0))
      .map(([name, { gas }]) => `${name}: ${committed.operations[name]?.gas} → ${gas}`);
    expect(increased, "gas increased; run `pnpm run gas-report` if intended").toEqual([]);
    // The README table must show the committed report.
    // (compared without spacing/dash padding, which the formatter may change)
    const normalize = (text: string) => text.replace(/ +/g, "").replace(/-+/g, "-");
    expect(normalize(readFileSync(readmePath, "utf8"))).toContain(normalize(renderTable(committed)));
  });
});

const START = "<!-- gas-table:start -->";
const END = "<!-- gas-table:end -->";

function renderTable(report: GasReport): string {
  const fmt = (n: number) => n.toLocaleString("en-US");
  const pct = (gas: number, original: number) => `${(((gas - original) * 100) / original).toFixed(1)}%`;
  const lines = [
    START,
    "| operation | original (Cancun/Prague) | this package | change |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const [name, { gas, original }] of Object.entries(report.operations)) {
    lines.push(`| ${name} | ${fmt(original)} | ${fmt(gas)} | ${pct(gas, original)} |`);
  }
  for (const [name, { gas, original }] of Object.entries(report.totals)) {
    lines.push(`| **${name}** | **${fmt(original)}** | **${fmt(gas)}** | **${pct(gas, original)}** |`);
  }
  lines.push(END);
  return lines.join("\n");
}

function withTable(readme: string, table: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < 0) return `${readme.trimEnd()}\n\n${table}\n`;
  return readme.slice(0, start) + table + readme.slice(end + END.length);
}
