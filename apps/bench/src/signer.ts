import { type Secp256k1, selectSecp256k1 } from "@perun-ts/secp256k1";

/** Which secp256k1 implementation a benchmark run asks for. */
export type SignerChoice = "noble" | "native";

/**
 * The configured secp256k1 implementation; `native` falls back to noble with a warning on stderr
 * (the result's `name` says which one is in use, and the report records it).
 */
export function benchSecp256k1(choice: SignerChoice): Secp256k1 {
  return selectSecp256k1({
    prefer: choice,
    logger: {
      warn: (msg, fields) => process.stderr.write(`warning: ${msg} ${JSON.stringify(fields ?? {})}\n`),
    },
  });
}
