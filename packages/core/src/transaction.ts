import type { Signature } from "./identity.js";
import type { Params } from "./params.js";
import { cloneState, type State } from "./state.js";

/** A state with the signatures collected so far (`undefined` = missing), one slot per participant. */
export interface Transaction {
  readonly state: State | undefined;
  readonly sigs: readonly (Signature | undefined)[];
}

/** A state with every participant's signature, together with its parameters. */
export interface SignedState {
  readonly params: Params;
  readonly state: State;
  readonly sigs: readonly Signature[];
}

export const emptyTransaction: Transaction = Object.freeze({ state: undefined, sigs: Object.freeze([]) });

export function cloneTransaction(tx: Transaction): Transaction {
  return { state: tx.state && cloneState(tx.state), sigs: tx.sigs.map((s) => s?.slice()) };
}

/** True if the transaction carries a state and a signature in every slot. */
export function isFullySigned(tx: Transaction, numParts: number): boolean {
  return tx.state !== undefined && tx.sigs.length === numParts && tx.sigs.every((s) => s !== undefined);
}
