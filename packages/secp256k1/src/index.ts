export * from "./address.js";
export * from "./native.js";
export * from "./noble.js";
export * from "./secp256k1.js";
export * from "./secp256k1-error.js";
export * from "./select.js";
export { CURVE_ORDER, isValidSecretKey } from "./validation.js";
