// The Funder + Adjudicator conformance suite of @perun-ts/testing on anvil with our contracts.
// Assets are two ERC20 asset holders, so balances change by exactly the deposited/withdrawn amounts.

import { perunTokenAbi } from "@perun-ts/contracts";
import { type Address, type App, channelIdHex, type State, StateTransitionError } from "@perun-ts/core";
import { ledgerConformanceSuite } from "@perun-ts/testing";
import { afterAll, beforeAll } from "vitest";
import { EthAdjudicator } from "./adjudicator.js";
import { EthChain } from "./chain.js";
import { Erc20Depositor } from "./depositor.js";
import type { EthAccount } from "./eth-account.js";
import { EthChannelBackend } from "./eth-channel-backend.js";
import { EthFunder } from "./funder.js";
import { startTestChain, type TestChain } from "./test-env.test-helper.js";

/** The off-chain twin of the TrivialApp contract. */
function trivialApp(def: Address): App {
  return {
    def,
    validInit: () => undefined,
    validTransition: (_p, _from: State, to: State) => {
      if (to.data.length > 1024) throw new StateTransitionError(channelIdHex(to.id), "data too large");
    },
  };
}

const backend = new EthChannelBackend();
let env: TestChain;
let snapshot: `0x${string}`;

beforeAll(async () => {
  env = await startTestChain({
    deploy: (accounts) => {
      const mintTo = accounts.slice(1, 4).map((a) => a.address);
      return {
        trivialApp: true,
        erc20: [
          { mintTo, initBalance: 10n ** 24n },
          { mintTo, initBalance: 10n ** 24n },
        ],
      };
    },
  });
  snapshot = await env.testClient.snapshot();
});

afterAll(async () => {
  await env?.stop();
});

ledgerConformanceSuite({
  name: "EthFunder + EthAdjudicator on anvil",
  async create() {
    await env.testClient.revert({ id: snapshot });
    snapshot = await env.testClient.snapshot();
    // a fresh chain view per test: nonces restart after the revert
    const chain = new EthChain({ client: env.chain.client, confirmations: 1, pollingIntervalMs: 10 });
    const { deployment } = env;
    const assets = deployment.tokens.map((t) => t.asset);
    const depositors = deployment.tokens.map((t) => ({
      asset: t.asset,
      depositor: new Erc20Depositor(t.token),
    }));
    const parties = env.accounts.slice(1, 4) as EthAccount[];
    return {
      backend,
      assets,
      parties: parties.map((account) => ({
        account,
        funder: new EthFunder({ chain, account, depositors }),
        adjudicator: new EthAdjudicator({ chain, adjudicator: deployment.adjudicator }),
      })),
      app: trivialApp(deployment.trivialApp as Address),
      advanceTime: env.advanceTime,
      balanceOf: (party, asset) =>
        chain.client.readContract({
          address: (deployment.tokens[asset] as { token: { hex: `0x${string}` } }).token.hex,
          abi: perunTokenAbi,
          functionName: "balanceOf",
          args: [(parties[party] as EthAccount).address.hex],
        }),
    };
  },
});
