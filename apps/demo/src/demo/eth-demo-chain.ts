import { createRequire } from "node:module";
import {
  ANVIL_DEFAULT_MNEMONIC,
  deployPerun,
  deriveAccount,
  EthAddress,
  EthChain,
  EthPrivateKeyAccount,
  fundingIdOf,
  randomSecretKey,
  startAnvil,
} from "@perun-ts/backend-eth";
import { simDigest } from "@perun-ts/backend-sim";
import { fromHex, toHex } from "@perun-ts/core";
import type { DemoAccount, DemoChain } from "./demo-chain.js";
import { DemoStepError } from "./node-process.js";

/** The 4-byte selector of `holdings(bytes32)` on the asset holders. */
const HOLDINGS_SELECTOR = toHex(simDigest(new TextEncoder().encode("holdings(bytes32)")).slice(0, 4));

/**
 * The Ethereum chain of the demo: a private anvil node (from the `@foundry-rs/anvil` npm package)
 * with freshly deployed Perun contracts (Adjudicator, AssetHolderETH). Accounts are new keys funded
 * from anvil's first account.
 */
export async function startEthDemoChain(): Promise<DemoChain & { readonly deployGas: bigint }> {
  // The demo depends on @foundry-rs/anvil itself (backend-eth only as an optional peer): resolve
  // the binary from here, so it is found wherever the package manager put it for us.
  const anvil = await startAnvil({
    resolveModule: (specifier, fromFile) => createRequire(fromFile ?? import.meta.url).resolve(specifier),
  });
  try {
    const chain = new EthChain({ client: anvil.rpcUrl, confirmations: 1, pollingIntervalMs: 50 });
    const faucet = deriveAccount(ANVIL_DEFAULT_MNEMONIC, 0);
    const before = await chain.client.getBalance({ address: faucet.address.hex });
    const deployment = await deployPerun(chain, faucet.txAccount);
    const deployGas = before - (await chain.client.getBalance({ address: faucet.address.hex }));
    const holder = deployment.ethAsset.holder;
    const rpc = async (method: string, params: unknown[]): Promise<void> => {
      const res = await fetch(anvil.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      const body = (await res.json()) as { error?: { message?: string } };
      if (body.error) throw new DemoStepError(`${method} failed: ${body.error.message ?? "error"}`);
    };
    return {
      deployGas,
      description: `local anvil at ${anvil.rpcUrl}; Adjudicator ${deployment.adjudicator.hex}, AssetHolderETH ${holder.hex}`,
      nodeArgs: () => [
        "--backend",
        "eth",
        "--rpc-url",
        anvil.rpcUrl,
        "--adjudicator",
        deployment.adjudicator.hex,
        "--asset-holder",
        holder.hex,
      ],
      newAccount: async (balance): Promise<DemoAccount> => {
        const key = randomSecretKey();
        const account = EthPrivateKeyAccount.fromSecretKey(key);
        await chain.send(
          faucet.txAccount,
          { to: account.address.hex, data: "0x", value: balance },
          { label: "fund" },
        );
        return { key: `0x${toHex(key)}`, address: account.address.hex.toLowerCase() };
      },
      balanceOf: (a) => chain.client.getBalance({ address: EthAddress.fromHex(a).hex }),
      heldFor: async (channelId, a) => {
        const fid = fundingIdOf(fromHex(channelId), EthAddress.fromHex(a));
        const { data } = await chain.client.call({
          to: holder.hex,
          data: `0x${HOLDINGS_SELECTOR}${toHex(fid)}`,
        });
        return data ? BigInt(data) : 0n;
      },
      advanceTime: async (seconds) => {
        await rpc("evm_increaseTime", [Number(seconds)]);
        await rpc("evm_mine", []);
      },
      hasGas: true,
      close: () => anvil.stop(),
    };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}
