// A private anvil chain with the Perun contracts, for one test file.
import { createTestClient, http } from "viem";
import { ANVIL_DEFAULT_MNEMONIC, type AnvilInstance, startAnvil } from "./anvil.js";
import { EthChain } from "./chain.js";
import { type DeployOptions, deployPerun, type EthDeployment } from "./deploy.js";
import type { EthAccount } from "./eth-account.js";
import { deriveAccount } from "./eth-wallet.js";

export interface TestChain {
  readonly anvil: AnvilInstance;
  readonly chain: EthChain;
  readonly deployment: EthDeployment;
  /** anvil's 10 funded accounts (account 0 deployed the contracts). */
  readonly accounts: readonly EthAccount[];
  readonly testClient: ReturnType<typeof createTestClient>;
  /** Advances chain time by `seconds` and mines a block. */
  advanceTime(seconds: bigint): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestChain(
  opts: {
    deploy?: DeployOptions | ((accounts: readonly EthAccount[]) => DeployOptions);
    confirmations?: number;
  } = {},
): Promise<TestChain> {
  const anvil = await startAnvil();
  try {
    const chain = new EthChain({
      client: anvil.rpcUrl,
      confirmations: opts.confirmations ?? 1,
      pollingIntervalMs: 10,
    });
    const accounts = Array.from({ length: 10 }, (_, i) => deriveAccount(ANVIL_DEFAULT_MNEMONIC, i));
    const deployOpts = typeof opts.deploy === "function" ? opts.deploy(accounts) : (opts.deploy ?? {});
    const deployment = await deployPerun(chain, (accounts[0] as EthAccount).txAccount, deployOpts);
    const testClient = createTestClient({ mode: "anvil", transport: http(anvil.rpcUrl) });
    return {
      anvil,
      chain,
      deployment,
      accounts,
      testClient,
      advanceTime: async (seconds) => {
        await testClient.increaseTime({ seconds: Number(seconds) });
        await testClient.mine({ blocks: 1 });
      },
      stop: () => anvil.stop(),
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}
