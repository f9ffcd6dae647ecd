// Everything the SimLedger part of this package exports (re-exported by index.ts).
export * from "./sim-clock.js";
export * from "./sim-ledger.js";
export * from "./sim-ledger-adjudicator.js";
export * from "./sim-ledger-errors.js";
export * from "./sim-ledger-funder.js";
export * from "./sim-ledger-funding-id.js";
export * from "./sim-ledger-subscription.js";
