// ETH and ERC20 funding on anvil: exact on-chain balances with gas accounted for, nonce management
// for several transactions of one account in flight, timeouts naming asset and peers.
import {
  FundingTimeoutError,
  makeInitialState,
  noApp,
  Params,
  type SignedState,
  type State,
} from "@perun-ts/core";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EthAdjudicator } from "./adjudicator.js";
import { Erc20Depositor, EthDepositor } from "./depositor.js";
import { type EthAccount, EthPrivateKeyAccount } from "./eth-account.js";
import type { EthAsset } from "./eth-asset.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import { EthAssetFundingError, EthFunder } from "./funder.js";
import { startTestChain, type TestChain } from "./test-env.test-helper.js";

const backend = new EthChannelBackend();
let env: TestChain;
let nonce = 1000n;

beforeAll(async () => {
  env = await startTestChain({
    deploy: (accounts) => ({
      erc20: [{ mintTo: accounts.slice(1, 3).map((a) => a.address), initBalance: 10n ** 21n }],
    }),
  });
});
afterAll(async () => {
  await env?.stop();
});

const alice = () => env.accounts[1] as EthAccount;
const bob = () => env.accounts[2] as EthAccount;

function channel(assets: readonly EthAsset[], balances: bigint[][]) {
  const params = Params.create(
    {
      challengeDuration: 60n,
      parts: [alice().address, bob().address],
      app: noApp,
      nonce: nonce++,
      ledgerChannel: true,
      virtualChannel: false,
    },
    backend,
  );
  return { params, state: makeInitialState(params, { assets, balances, locked: [] }) };
}

function funderOf(account: EthAccount) {
  const { deployment, chain } = env;
  const token = deployment.tokens[0] as { token: EthAccount["address"]; asset: EthAsset };
  return new EthFunder({
    chain,
    account,
    depositors: [
      { asset: deployment.ethAsset, depositor: new EthDepositor() },
      { asset: token.asset, depositor: new Erc20Depositor(token.token) },
    ],
  });
}

/** ETH spent on gas by `from` in blocks after `fromBlock`. */
async function gasSpent(from: EthAccount, fromBlock: bigint): Promise<bigint> {
  const head = await env.chain.client.getBlockNumber({ cacheTime: 0 });
  let total = 0n;
  for (let n = fromBlock + 1n; n <= head; n++) {
    const block = await env.chain.client.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== from.address.hex) continue;
      const r = await env.chain.client.getTransactionReceipt({ hash: tx.hash as Hex });
      total += r.gasUsed * r.effectiveGasPrice;
    }
  }
  return total;
}

const ethBalance = (a: { hex: Hex }) => env.chain.client.getBalance({ address: a.hex });

describe("EthFunder and EthAdjudicator with ETH", () => {
  it("fund → final state → withdraw: exact balances, gas accounted for", async () => {
    const eth = env.deployment.ethAsset;
    const { params, state } = channel([eth], [[3n * 10n ** 17n, 2n * 10n ** 17n]]);
    const start = await env.chain.client.getBlockNumber({ cacheTime: 0 });
    const before = {
      a: await ethBalance(alice().address),
      b: await ethBalance(bob().address),
      h: await ethBalance(eth.holder),
    };
    await Promise.all([
      funderOf(alice()).fund({ params, state, idx: 0, agreement: [[3n * 10n ** 17n, 2n * 10n ** 17n]] }),
      funderOf(bob()).fund({ params, state, idx: 1, agreement: [[3n * 10n ** 17n, 2n * 10n ** 17n]] }),
    ]);
    expect(await ethBalance(eth.holder)).toBe(before.h + 5n * 10n ** 17n);

    const fin: State = {
      ...state,
      version: 1n,
      isFinal: true,
      allocation: { ...state.allocation, balances: [[10n ** 17n, 4n * 10n ** 17n]] },
    };
    const signed: SignedState = {
      params,
      state: fin,
      sigs: [await backend.sign(alice(), fin), await backend.sign(bob(), fin)],
    };
    const adj = new EthAdjudicator({ chain: env.chain, adjudicator: env.deployment.adjudicator });
    const req = (idx: number, account: EthAccount) => ({
      params,
      account,
      tx: { state: signed.state, sigs: signed.sigs },
      idx,
      secondary: idx === 1,
    });
    await adj.withdraw(req(0, alice()), new Map());
    await adj.withdraw(req(1, bob()), new Map());
    // idempotent: nothing more is paid
    await adj.withdraw(req(1, bob()), new Map());

    const gasA = await gasSpent(alice(), start);
    const gasB = await gasSpent(bob(), start);
    expect(gasA).toBeGreaterThan(0n);
    expect(await ethBalance(alice().address)).toBe(before.a - 3n * 10n ** 17n + 10n ** 17n - gasA);
    expect(await ethBalance(bob().address)).toBe(before.b - 2n * 10n ** 17n + 4n * 10n ** 17n - gasB);
    expect(await ethBalance(eth.holder)).toBe(before.h);
  });

  it("one account funds ETH and ERC20 of several channels concurrently (local nonces)", async () => {
    const eth = env.deployment.ethAsset;
    const tok = (env.deployment.tokens[0] as { asset: EthAsset }).asset;
    const channels = Array.from({ length: 4 }, () =>
      channel(
        [eth, tok],
        [
          [7n, 0n],
          [11n, 0n],
        ],
      ),
    );
    const funder = funderOf(alice());
    const sentBefore = await env.chain.client.getTransactionCount({ address: alice().address.hex });
    // all 4 × 3 transactions are submitted without waiting for each other
    await Promise.all(
      channels.map(({ params, state }) =>
        funder.fund({
          params,
          state,
          idx: 0,
          agreement: [
            [7n, 0n],
            [11n, 0n],
          ],
        }),
      ),
    );
    const sentAfter = await env.chain.client.getTransactionCount({ address: alice().address.hex });
    expect(sentAfter - sentBefore).toBe(12);
    // a second round is idempotent
    await Promise.all(
      channels.map(({ params, state }) =>
        funder.fund({
          params,
          state,
          idx: 0,
          agreement: [
            [7n, 0n],
            [11n, 0n],
          ],
        }),
      ),
    );
    expect(await env.chain.client.getTransactionCount({ address: alice().address.hex })).toBe(sentAfter);
  });

  it("a funding timeout names the asset holder and the peers' addresses", async () => {
    const eth = env.deployment.ethAsset;
    const { params, state } = channel([eth], [[1n, 2n]]);
    const funding = funderOf(alice()).fund({ params, state, idx: 0, agreement: [[1n, 2n]] });
    const settled = funding.then(
      () => undefined,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 50));
    await env.advanceTime(61n);
    const err = await settled;
    expect(err).toBeInstanceOf(FundingTimeoutError);
    const e0 = (err as FundingTimeoutError).errors[0] as EthAssetFundingError;
    expect(e0).toBeInstanceOf(EthAssetFundingError);
    expect(e0.timedOutPeers).toEqual([1]);
    expect(e0.message).toContain(eth.hex);
    expect(e0.message).toContain(bob().address.hex);
  });

  it("a deposit from an account without ETH fails with a typed error, not a hang", async () => {
    const poor = EthPrivateKeyAccount.random();
    const { params, state } = channel([env.deployment.ethAsset], [[1n, 0n]]);
    await expect(funderOf(poor).fund({ params, state, idx: 0, agreement: [[1n, 0n]] })).rejects.toMatchObject(
      {
        name: expect.stringMatching(/Error$/),
      },
    );
  });
});
