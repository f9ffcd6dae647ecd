import { afterAll, beforeAll, expect, it } from "vitest";
import {
  adjudicatorDeployedBytecode,
  assetHolderErc20Abi,
  assetHolderEthAbi,
  deployPerunContracts,
  perunTokenAbi,
  trivialAppDeployedBytecode,
} from "./index.js";
import { TestChain } from "./test-support/chain.js";
import { alice, bob } from "./test-support/perun.js";

let chain: TestChain;
beforeAll(async () => {
  chain = await TestChain.start();
});
afterAll(async () => {
  await chain?.stop();
});

it("deployPerunContracts deploys and wires all contracts", async () => {
  const d = await deployPerunContracts(chain.walletClient, chain.publicClient, {
    trivialApp: true,
    erc20: { mintTo: [alice.address, bob.address], initBalance: 1000n },
  });
  const pc = chain.publicClient;
  expect(await pc.getCode({ address: d.adjudicator })).toBe(adjudicatorDeployedBytecode);
  expect(d.trivialApp).toBeDefined();
  if (!d.trivialApp || !d.token || !d.assetHolderErc20) throw new Error("missing optional deployments");
  expect(await pc.getCode({ address: d.trivialApp })).toBe(trivialAppDeployedBytecode);
  const adj = (address: `0x${string}`) =>
    pc.readContract({ address, abi: assetHolderEthAbi, functionName: "adjudicator" });
  expect(await adj(d.assetHolderEth)).toBe(d.adjudicator);
  expect(await adj(d.assetHolderErc20)).toBe(d.adjudicator);
  expect(
    await pc.readContract({ address: d.assetHolderErc20, abi: assetHolderErc20Abi, functionName: "token" }),
  ).toBe(d.token);
  expect(
    await pc.readContract({
      address: d.token,
      abi: perunTokenAbi,
      functionName: "balanceOf",
      args: [bob.address],
    }),
  ).toBe(1000n);
  // reusing an existing token
  const again = await deployPerunContracts(chain.walletClient, chain.publicClient, {
    erc20: { token: d.token },
  });
  expect(again.token).toBe(d.token);
  expect(again.trivialApp).toBeUndefined();
});
