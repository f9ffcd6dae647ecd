export * from "./errors.js";
export type { BatchInfo } from "./group-commit.js";
export { SCHEMA_VERSION } from "./keys.js";
export * from "./level-persist-restorer.js";
