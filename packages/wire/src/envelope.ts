import type { Address } from "@perun-ts/core";
import type { Message } from "./messages.js";

/** A message with its wire sender and recipient (wire identities, spec §5.3). */
export interface Envelope<M extends Message = Message> {
  readonly sender: Address;
  readonly recipient: Address;
  readonly message: M;
}
