export * from "./abi-types.js";
export * from "./encoding.js";
export * from "./eth-account.js";
export * from "./eth-address.js";
export * from "./eth-asset.js";
export * from "./eth-channel-backend.js";
export * from "./eth-wallet.js";
export * from "./signature.js";
