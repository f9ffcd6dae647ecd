export * from "./allocation.js";
export * from "./backend.js";
export * from "./channel.js";
export * from "./primitives.js";
