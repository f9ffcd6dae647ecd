import type { Balances } from "./allocation.js";
import type { ChannelId } from "./channel-id.js";
import type { Account } from "./identity.js";
import type { Params } from "./params.js";
import type { State } from "./state.js";
import type { SignedState, Transaction } from "./transaction.js";

/** Options of every blocking call: cancellation through an `AbortSignal`. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** A point in (chain) time that can be awaited. */
export interface Timeout {
  isElapsed(): Promise<boolean>;
  /** Resolves when elapsed; rejects with `AbortError` on abort. */
  wait(opts?: CallOptions): Promise<void>;
}

/** What a participant asks the funder to deposit. */
export interface FundingReq {
  readonly params: Params;
  readonly state: State;
  /** Own participant index. */
  readonly idx: number;
  /** How much each participant deposits per asset (`agreement[asset][participant]`). */
  readonly agreement: Balances;
}

/** Deposits the own share of a channel's funding and waits until every participant did. */
export interface Funder {
  /**
   * Idempotent: a second call for the same channel does not deposit twice. Throws
   * `FundingTimeoutError` listing the assets and participants that did not fund in time.
   */
  fund(req: FundingReq, opts?: CallOptions): Promise<void>;
}

/** What a participant asks the adjudicator to register, conclude or withdraw. */
export interface AdjudicatorReq {
  readonly params: Params;
  readonly account: Account;
  readonly tx: Transaction;
  /** Own participant index. */
  readonly idx: number;
  /** Withdraw the own funds after conclusion. */
  readonly secondary: boolean;
}

export interface ProgressReq extends AdjudicatorReq {
  readonly newState: State;
  readonly sig: Uint8Array;
}

interface AdjudicatorEventBase {
  readonly id: ChannelId;
  readonly version: bigint;
  readonly timeout: Timeout;
}

/** A state was registered (or refuted) on chain; `timeout` ends the dispute (or force-exec) window. */
export interface RegisteredEvent extends AdjudicatorEventBase {
  readonly type: "registered";
  readonly state: State;
  readonly sigs: readonly Uint8Array[];
  /**
   * Set when the backend saw the event but could not recover the registered state (e.g. the
   * adjudicator was called through another contract); `state`/`sigs` are then placeholders and
   * only `id`, `version` and `timeout` are meaningful.
   */
  readonly stateUnknown?: boolean;
}

/** An app channel was progressed on chain by `actorIdx`. */
export interface ProgressedEvent extends AdjudicatorEventBase {
  readonly type: "progressed";
  readonly state: State;
  readonly actorIdx: number;
  /** As on `RegisteredEvent`: `state` is a placeholder. */
  readonly stateUnknown?: boolean;
}

/** The channel outcome is final on chain; funds can be withdrawn. */
export interface ConcludedEvent extends AdjudicatorEventBase {
  readonly type: "concluded";
}

export type AdjudicatorEvent = RegisteredEvent | ProgressedEvent | ConcludedEvent;

/** A closable stream of adjudicator events. */
export interface AdjudicatorSubscription extends AsyncIterable<AdjudicatorEvent> {
  close(): void;
}

/** The on-chain dispute and settlement side. */
export interface Adjudicator {
  /** Registers the channel tree: the root's `req.tx` and every descendant's signed state (DFS pre-order). */
  register(req: AdjudicatorReq, subChannels: readonly SignedState[], opts?: CallOptions): Promise<void>;
  /** Progresses a registered app channel to `req.newState`. */
  progress(req: ProgressReq, opts?: CallOptions): Promise<void>;
  /** Concludes if needed and withdraws the own funds; `subStates` holds every descendant's latest state. */
  withdraw(req: AdjudicatorReq, subStates: ReadonlyMap<string, State>, opts?: CallOptions): Promise<void>;
  /** Events of one channel, starting with the most recent past event. */
  subscribe(id: ChannelId, opts?: CallOptions): Promise<AdjudicatorSubscription>;
}
