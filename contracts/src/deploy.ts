import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  getAddress,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { adjudicatorAbi, adjudicatorBytecode } from "./generated/Adjudicator.js";
import { assetHolderErc20Abi, assetHolderErc20Bytecode } from "./generated/AssetHolderERC20.js";
import { assetHolderEthAbi, assetHolderEthBytecode } from "./generated/AssetHolderETH.js";
import { perunTokenAbi, perunTokenBytecode } from "./generated/PerunToken.js";
import { trivialAppAbi, trivialAppBytecode } from "./generated/TrivialApp.js";

/** What {@link deployPerunContracts} deploys besides the Adjudicator and the ETH asset holder. */
export interface PerunDeployOptions {
  /** Also deploy the TrivialApp (default false). */
  readonly trivialApp?: boolean;
  /**
   * Also deploy an ERC20 asset holder: for an existing token (`{ token }`), or for a new PerunToken
   * test token minting `initBalance` to each of `mintTo`.
   */
  readonly erc20?:
    | { readonly token: Address }
    | { readonly mintTo: readonly Address[]; readonly initBalance: bigint };
}

/** Addresses (checksummed) of a deployment. `assetHolderEth` and `assetHolderErc20` are the channel *assets*. */
export interface PerunDeployment {
  readonly adjudicator: Address;
  readonly assetHolderEth: Address;
  readonly trivialApp?: Address;
  readonly token?: Address;
  readonly assetHolderErc20?: Address;
}

/**
 * Deploys the Adjudicator (no constructor arguments) and an AssetHolderETH bound to it, optionally a
 * TrivialApp and an ERC20 asset holder (plus a PerunToken). Waits for each receipt and checks that
 * code exists at the new address.
 */
export async function deployPerunContracts(
  walletClient: WalletClient<Transport, Chain | undefined, Account>,
  publicClient: PublicClient,
  options: PerunDeployOptions = {},
): Promise<PerunDeployment> {
  const deploy = async (abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> => {
    const hash = await walletClient.deployContract({
      abi,
      bytecode,
      args,
      account: walletClient.account,
      chain: walletClient.chain,
    } as Parameters<typeof walletClient.deployContract>[0]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress)
      throw new Error(`deployment failed (tx ${hash})`);
    const address = getAddress(receipt.contractAddress);
    const code = await publicClient.getCode({ address });
    if (code === undefined || code === "0x") throw new Error(`no code at ${address} after deployment`);
    return address;
  };

  const adjudicator = await deploy(adjudicatorAbi, adjudicatorBytecode, []);
  const assetHolderEth = await deploy(assetHolderEthAbi, assetHolderEthBytecode, [adjudicator]);
  let result: PerunDeployment = { adjudicator, assetHolderEth };
  if (options.trivialApp) {
    result = { ...result, trivialApp: await deploy(trivialAppAbi, trivialAppBytecode, []) };
  }
  const erc20 = options.erc20;
  if (erc20) {
    const token =
      "token" in erc20
        ? erc20.token
        : await deploy(perunTokenAbi, perunTokenBytecode, [erc20.mintTo, erc20.initBalance]);
    const assetHolderErc20 = await deploy(assetHolderErc20Abi, assetHolderErc20Bytecode, [
      adjudicator,
      token,
    ]);
    result = { ...result, token, assetHolderErc20 };
  }
  return result;
}
