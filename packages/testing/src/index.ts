export * from "./arbitraries/index.js";
export * from "./channel-backend-suite.js";
export * from "./persist-restorer-suite.js";
export * from "./persisted-channel-diff.js";
export * from "./suite-support.js";
export * from "./wallet-suite.js";
export * from "./ledger-suite.js";
export * from "./scenarios/index.js";
export { busSuite, envelopeEquals } from "@perun-ts/wire";
