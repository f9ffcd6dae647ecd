// Figures for the README: state sign/verify through EthChannelBackend (noble and native
// secp256k1), and one channel's on-chain life on a private anvil (latency and gas per step).
// Run after building: npx -y pnpm@12.4.2 --filter @perun-ts/backend-eth build && node packages/backend-eth/scripts/measure.mjs
import { makeInitialState, noApp, Params } from "@perun-ts/core";
import { nobleSecp256k1, requireNativeSecp256k1 } from "@perun-ts/secp256k1";
import {
  ANVIL_DEFAULT_MNEMONIC,
  deployPerun,
  deriveAccount,
  EthAdjudicator,
  EthChain,
  EthChannelBackend,
  EthDepositor,
  EthFunder,
  EthPrivateKeyAccount,
  startAnvil,
} from "../dist/index.js";

const N = 2_000;

async function cryptoFigures(name, secp256k1) {
  const backend = new EthChannelBackend({ secp256k1 });
  const a = EthPrivateKeyAccount.random({ secp256k1 });
  const b = EthPrivateKeyAccount.random({ secp256k1 });
  const params = Params.create(
    {
      challengeDuration: 60n,
      nonce: 1n,
      parts: [a.address, b.address],
      app: noApp,
      ledgerChannel: true,
      virtualChannel: false,
    },
    backend,
  );
  const s0 = makeInitialState(params, {
    assets: [new (await import("../dist/index.js")).EthAsset(`0x${"11".repeat(20)}`)],
    balances: [[10n ** 18n, 10n ** 18n]],
    locked: [],
  });
  const states = Array.from({ length: N }, (_, i) => ({ ...s0, version: BigInt(i + 1) }));
  for (const s of states.slice(0, 100)) await backend.verify(a.address, s, await backend.sign(a, s)); // warm-up
  let t = performance.now();
  const sigs = [];
  for (const s of states) sigs.push(await backend.sign(a, s));
  const signMs = (performance.now() - t) / N;
  t = performance.now();
  for (let i = 0; i < N; i++)
    if (!(await backend.verify(a.address, states[i], sigs[i]))) throw new Error("verify");
  const verifyMs = (performance.now() - t) / N;
  console.log(
    `${name.padEnd(6)} state sign ${(1000 / signMs).toFixed(0).padStart(6)}/s (${(signMs * 1000).toFixed(0)} µs)   verify ${(1000 / verifyMs).toFixed(0).padStart(6)}/s (${(verifyMs * 1000).toFixed(0)} µs)`,
  );
}

async function chainFigures() {
  let t = performance.now();
  const anvil = await startAnvil();
  const startMs = performance.now() - t;
  try {
    const chain = new EthChain({ client: anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 10 });
    const [deployer, alice, bob] = [0, 1, 2].map((i) => deriveAccount(ANVIL_DEFAULT_MNEMONIC, i));
    t = performance.now();
    const dep = await deployPerun(chain, deployer.txAccount);
    const deployMs = performance.now() - t;
    const backend = new EthChannelBackend();
    const params = Params.create(
      {
        challengeDuration: 60n,
        nonce: 7n,
        parts: [alice.address, bob.address],
        app: noApp,
        ledgerChannel: true,
        virtualChannel: false,
      },
      backend,
    );
    const bals = [[3n * 10n ** 17n, 2n * 10n ** 17n]];
    const state = makeInitialState(params, { assets: [dep.ethAsset], balances: bals, locked: [] });
    const funder = (account) =>
      new EthFunder({ chain, account, depositors: [{ asset: dep.ethAsset, depositor: new EthDepositor() }] });
    const gasOf = async (from, fromBlock) => {
      const head = await chain.client.getBlockNumber({ cacheTime: 0 });
      let gas = 0n;
      for (let n = fromBlock + 1n; n <= head; n++) {
        const block = await chain.client.getBlock({ blockNumber: n, includeTransactions: true });
        for (const tx of block.transactions) {
          if (tx.from.toLowerCase() !== from.address.hex) continue;
          gas += (await chain.client.getTransactionReceipt({ hash: tx.hash })).gasUsed;
        }
      }
      return gas;
    };
    const step = async (label, who, fn) => {
      const from = await chain.client.getBlockNumber({ cacheTime: 0 });
      const t0 = performance.now();
      await fn();
      const ms = performance.now() - t0;
      console.log(
        `${label.padEnd(38)} ${ms.toFixed(0).padStart(5)} ms   gas ${String(await gasOf(who, from)).padStart(7)}`,
      );
    };
    console.log(
      `startAnvil ${startMs.toFixed(0)} ms, deployPerun (Adjudicator + ETH holder) ${deployMs.toFixed(0)} ms`,
    );
    await step("fund (Alice's ETH deposit, both funded)", alice, async () => {
      await Promise.all([
        funder(alice).fund({ params, state, idx: 0, agreement: bals }),
        funder(bob).fund({ params, state, idx: 1, agreement: bals }),
      ]);
    });
    const v1 = { ...state, version: 1n };
    const signed = { state: v1, sigs: [await backend.sign(alice, v1), await backend.sign(bob, v1)] };
    const adj = new EthAdjudicator({ chain, adjudicator: dep.adjudicator });
    const req = (idx, account) => ({ params, account, tx: signed, idx, secondary: idx === 1 });
    await step("register (dispute, 2 participants)", alice, () => adj.register(req(0, alice), []));
    const sub = await adj.subscribe(params.id);
    const testClient = (await import("viem")).createTestClient({
      mode: "anvil",
      transport: (await import("viem")).http(anvil.rpcUrl),
    });
    await testClient.increaseTime({ seconds: 61 });
    await testClient.mine({ blocks: 1 });
    await step("withdraw (conclude + withdraw), Alice", alice, () => adj.withdraw(req(0, alice), new Map()));
    await step("withdraw (already concluded), Bob", bob, () => adj.withdraw(req(1, bob), new Map()));
    sub.close();
  } finally {
    await anvil.stop();
  }
}

console.log(`Node ${process.version}, ${N} states each`);
await cryptoFigures("noble", nobleSecp256k1);
await cryptoFigures("native", requireNativeSecp256k1());
await chainFigures();
