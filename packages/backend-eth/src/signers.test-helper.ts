// The secp256k1 implementations every byte-exact test runs with. Native must load here: a test
// run that silently fell back to noble would prove nothing about libsecp256k1.
import { nobleSecp256k1, requireNativeSecp256k1, type Secp256k1 } from "@perun-ts/secp256k1";

export const testSigners: readonly (readonly [string, Secp256k1])[] = [
  ["noble", nobleSecp256k1],
  ["native", requireNativeSecp256k1()],
];
