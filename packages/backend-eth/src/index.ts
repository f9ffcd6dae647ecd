/**
 * The Ethereum backend of perun-ts on viem: byte-exact encodings, ids and EIP-191 signatures
 * (spec-eth §2), wallets, funder, adjudicator, reorg-safe events, deployment and an anvil launcher.
 * @packageDocumentation
 */
export * from "./abi-types.js";
export * from "./adjudicator.js";
export * from "./anvil.js";
export * from "./block-timeout.js";
export {
  adjudicatorCallInputs,
  type CallFrame,
  type DecodedUpdate,
  decodeUpdateCalldata,
  type EthAppResolver,
  fromEthState,
  opaqueAppResolver,
} from "./calldata.js";
export * from "./chain.js";
export * from "./deploy.js";
export * from "./depositor.js";
export * from "./encoding.js";
export * from "./errors.js";
export * from "./eth-account.js";
export * from "./eth-address.js";
export * from "./eth-asset.js";
export * from "./eth-channel-backend.js";
export * from "./eth-wallet.js";
export * from "./funder.js";
export { decodeRevertData, revertReasonOf } from "./revert-reason.js";
export * from "./signature.js";
export * from "./subscription.js";
