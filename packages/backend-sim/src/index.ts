export * from "./sim-account.js";
export * from "./sim-address.js";
export * from "./sim-asset.js";
export * from "./sim-channel-backend.js";
export * from "./sim-ledger-api.js";
export * from "./sim-signature.js";
export * from "./sim-wallet.js";
