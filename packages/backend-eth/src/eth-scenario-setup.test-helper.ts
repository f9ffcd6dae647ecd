// The @perun-ts/testing scenario setup on a private anvil chain with the Perun contracts. The
// scenario asset is an ERC20 asset holder, so ledger balances change by exactly the channel amounts.
import { perunTokenAbi, trivialAppAbi, trivialAppBytecode } from "@perun-ts/contracts";
import type { Address } from "@perun-ts/core";
import { type ScenarioLedger, type ScenarioSetup, serializingLocalNetwork } from "@perun-ts/testing";
import { encodeFunctionData } from "viem";
import { afterAll, beforeAll } from "vitest";
import { EthAdjudicator } from "./adjudicator.js";
import { EthChain } from "./chain.js";
import { deployContract } from "./deploy.js";
import { Erc20Depositor } from "./depositor.js";
import type { EthAccount } from "./eth-account.js";
import { EthAddress } from "./eth-address.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import { EthWallet } from "./eth-wallet.js";
import { EthFunder } from "./funder.js";
import { startTestChain, type TestChain } from "./test-env.test-helper.js";

/**
 * Starts anvil for the calling test file (beforeAll/afterAll) and returns the scenario setup; every
 * `newLedger()` reverts the chain to the freshly deployed snapshot. `env()` is the running chain.
 */
export function ethScenarioSetup(name: string): { setup: ScenarioSetup; env: () => TestChain } {
  const backend = new EthChannelBackend();
  let env: TestChain;
  let snapshot: `0x${string}`;

  beforeAll(async () => {
    env = await startTestChain({
      deploy: (accounts) => ({
        erc20: [{ mintTo: [(accounts[0] as EthAccount).address], initBalance: 10n ** 30n }],
      }),
    });
    snapshot = await env.testClient.snapshot();
  });
  afterAll(async () => {
    await env?.stop();
  });

  // every account any scenario wallet creates, so that funders can pay from the participant's account
  const wallets: EthWallet[] = [];

  async function newLedger(): Promise<ScenarioLedger> {
    await env.testClient.revert({ id: snapshot });
    snapshot = await env.testClient.snapshot();
    const chain = new EthChain({ client: env.anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 10 });
    const faucet = env.accounts[0] as EthAccount;
    const { token, asset } = env.deployment.tokens[0] as (typeof env.deployment.tokens)[number];
    const walletOf = {
      unlock: async (a: Address) => {
        const w = wallets.find((x) => x.hasAccount(a));
        if (!w) throw new Error(`no wallet holds ${a}`);
        return w.unlock(a);
      },
      incrementUsage: () => undefined,
      decrementUsage: () => undefined,
    };
    return {
      asset,
      funder: () =>
        new EthFunder({
          chain,
          wallet: walletOf,
          depositors: [{ asset, depositor: new Erc20Depositor(token) }],
        }),
      adjudicator: () => new EthAdjudicator({ chain, adjudicator: env.deployment.adjudicator }),
      mint: async (address, amount) => {
        const to = EthAddress.from(address).hex;
        await chain.send(faucet.txAccount, { to, data: "0x", value: 10n ** 18n }, { label: "gas money" });
        await chain.send(
          faucet.txAccount,
          {
            to: token.hex,
            data: encodeFunctionData({ abi: perunTokenAbi, functionName: "transfer", args: [to, amount] }),
          },
          { label: "mint" },
        );
      },
      balanceOf: (address) =>
        chain.client.readContract({
          address: token.hex,
          abi: perunTokenAbi,
          functionName: "balanceOf",
          args: [EthAddress.from(address).hex],
        }),
      advanceTime: env.advanceTime,
      close: async () => {},
    };
  }

  const setup: ScenarioSetup = {
    name,
    backend,
    challengeDuration: 60n,
    newWallet() {
      const wallet = new EthWallet();
      wallets.push(wallet);
      return { wallet, newAccount: async () => wallet.newAccount() };
    },
    newLedger,
    newNetwork: (apps) =>
      serializingLocalNetwork(apps, backend as unknown as Parameters<typeof serializingLocalNetwork>[1]),
    // a TrivialApp contract per app: the scenarios' apps accept every transition, so their on-chain
    // definition must too (progress calls validTransition on it)
    newAppDef: async () => {
      const chain = new EthChain({ client: env.anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 10 });
      return deployContract(
        chain,
        (env.accounts[0] as EthAccount).txAccount,
        trivialAppAbi,
        trivialAppBytecode,
        [],
      );
    },
  };
  return { setup, env: () => env };
}
