/**
 * Perun Adjudicator and asset holders (Solidity, ABI-compatible with perun-eth-contracts 73b45de),
 * as viem-ready `as const` ABIs and creation bytecode, plus a deployment helper.
 *
 * @example
 * ```ts
 * import { adjudicatorAbi, deployPerunContracts } from "@perun-ts/contracts";
 * const { adjudicator, assetHolderEth } = await deployPerunContracts(walletClient, publicClient);
 * const id = await publicClient.readContract({ address: adjudicator, abi: adjudicatorAbi, functionName: "channelID", args: [params] });
 * ```
 * @packageDocumentation
 */
export { AllocationT, ParamsT, StateT, WithdrawalAuthT } from "./abi-types.js";
export { deployPerunContracts, type PerunDeployment, type PerunDeployOptions } from "./deploy.js";
export {
  adjudicatorAbi,
  adjudicatorBytecode,
  adjudicatorDeployedBytecode,
} from "./generated/Adjudicator.js";
export { appAbi } from "./generated/App.js";
export { assetHolderAbi } from "./generated/AssetHolder.js";
export {
  assetHolderErc20Abi,
  assetHolderErc20Bytecode,
  assetHolderErc20DeployedBytecode,
} from "./generated/AssetHolderERC20.js";
export {
  assetHolderEthAbi,
  assetHolderEthBytecode,
  assetHolderEthDeployedBytecode,
} from "./generated/AssetHolderETH.js";
export {
  perunTokenAbi,
  perunTokenAbi as testTokenAbi,
  perunTokenBytecode,
  perunTokenBytecode as testTokenBytecode,
  perunTokenDeployedBytecode,
} from "./generated/PerunToken.js";
export {
  trivialAppAbi,
  trivialAppBytecode,
  trivialAppDeployedBytecode,
} from "./generated/TrivialApp.js";
