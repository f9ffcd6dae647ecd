import { type Allocation, allocationEquals, cloneAllocation, validateAllocation } from "./allocation.js";
import { type App, appsEqual } from "./app.js";
import { bytesEqual } from "./bytes.js";
import { type ChannelId, channelIdEquals } from "./channel-id.js";
import { ValidationError } from "./errors.js";
import type { Params } from "./params.js";

/** One version of a channel's state. Signatures are always over the whole state. */
export interface State {
  readonly id: ChannelId;
  readonly version: bigint;
  readonly app: App;
  readonly allocation: Allocation;
  /** App data, interpreted only by `app`; empty for `noApp`. */
  readonly data: Uint8Array;
  /** A final state can never be followed by another update. */
  readonly isFinal: boolean;
}

export function cloneState(s: State): State {
  return {
    id: s.id,
    version: s.version,
    app: s.app,
    allocation: cloneAllocation(s.allocation),
    data: s.data.slice(),
    isFinal: s.isFinal,
  };
}

export function stateEquals(a: State, b: State): boolean {
  return (
    channelIdEquals(a.id, b.id) &&
    a.version === b.version &&
    appsEqual(a.app, b.app) &&
    allocationEquals(a.allocation, b.allocation) &&
    bytesEqual(a.data, b.data) &&
    a.isFinal === b.isFinal
  );
}

/**
 * The version-0 state of a channel: checks the dimensions against the parameters, the allocation
 * rules and the app's `validInit`.
 */
export function makeInitialState(
  params: Params,
  allocation: Allocation,
  data: Uint8Array = new Uint8Array(),
): State {
  for (const [i, row] of allocation.balances.entries()) {
    if (row.length !== params.parts.length) {
      throw new ValidationError(
        `asset ${i} has ${row.length} balances for ${params.parts.length} participants`,
      );
    }
  }
  validateAllocation(allocation);
  const state: State = { id: params.id, version: 0n, app: params.app, allocation, data, isFinal: false };
  params.app.validInit(params, state);
  return state;
}
