import {
  type Account,
  type Address,
  type App,
  type ChannelBackend,
  Params,
  type Signature,
  type SignedState,
  type State,
  type Transaction,
} from "@perun-ts/core";
import fc from "fast-check";
import { type AllocationOptions, arbAllocation } from "./allocation.js";
import { bigIntIn, intIn, type Range } from "./backend.js";
import { arbApp, arbDistinctAddresses, arbNonce, backendOf, type WithBackend } from "./primitives.js";

export interface ParamsOptions extends WithBackend {
  /** Participant count; default 2..4. Ignored if `parts` is given. */
  readonly numParts?: Range<number>;
  /** Exactly these participants. */
  readonly parts?: readonly Address[];
  /** Participant 0 (the others are random). */
  readonly firstPart?: Address;
  /** Default 1..2^32. */
  readonly challengeDuration?: Range<bigint>;
  /** Default: any 32-byte nonce. */
  readonly nonce?: Range<bigint>;
  /** Exactly this app. */
  readonly app?: App;
  /** If `app` is absent: `true` = a payment app, `false` = `noApp`, absent = either. */
  readonly withApp?: boolean;
  /** Default: ledger, virtual or neither (never both, which is invalid). */
  readonly ledgerChannel?: boolean;
  readonly virtualChannel?: boolean;
}

function arbParts(opts: ParamsOptions): fc.Arbitrary<Address[]> {
  if (opts.parts) return fc.constant([...opts.parts]);
  const first = opts.firstPart;
  return intIn(opts.numParts, { min: 2, max: 4 }).chain((n) =>
    first
      ? arbDistinctAddresses(n, opts)
          .filter((as) => as.every((a) => !a.equals(first)))
          .map((as) => [first, ...as.slice(1)])
      : arbDistinctAddresses(n, opts),
  );
}

function arbFlags(opts: ParamsOptions): fc.Arbitrary<{ ledgerChannel: boolean; virtualChannel: boolean }> {
  const { ledgerChannel: l, virtualChannel: v } = opts;
  const all = [
    { ledgerChannel: true, virtualChannel: false },
    { ledgerChannel: false, virtualChannel: true },
    { ledgerChannel: false, virtualChannel: false },
  ].filter((f) => (l === undefined || f.ledgerChannel === l) && (v === undefined || f.virtualChannel === v));
  return all.length === 0
    ? fc.constant({ ledgerChannel: l ?? false, virtualChannel: v ?? false })
    : fc.constantFrom(...all);
}

/** Valid `Params` (id computed by the backend). */
export function arbParams(opts: ParamsOptions = {}): fc.Arbitrary<Params> {
  const { backend } = backendOf(opts);
  return fc
    .record({
      challengeDuration: bigIntIn(opts.challengeDuration, { min: 1n, max: 1n << 32n }),
      parts: arbParts(opts),
      app: opts.app
        ? fc.constant(opts.app)
        : arbApp({ ...opts, ...(opts.withApp !== undefined && { withApp: opts.withApp }) }),
      nonce: opts.nonce === undefined ? arbNonce() : bigIntIn(opts.nonce, 0n),
      flags: arbFlags(opts),
    })
    .map(({ flags, ...init }) => Params.create({ ...init, ...flags }, backend));
}

export interface StateOptions extends ParamsOptions, Omit<AllocationOptions, "numParts"> {
  /** The state's channel; generated from the params options if absent. */
  readonly params?: Params;
  /** Default 0..2^20. */
  readonly version?: Range<bigint>;
  /** Default: either. */
  readonly isFinal?: boolean;
  /** App data; default empty (what `noApp` and the payment app require). */
  readonly data?: fc.Arbitrary<Uint8Array>;
}

/** A channel's params with a state of that channel (matching id, app and participant count). */
export function arbChannelState(opts: StateOptions = {}): fc.Arbitrary<{ params: Params; state: State }> {
  const params = opts.params ? fc.constant(opts.params) : arbParams(opts);
  return params.chain((p) =>
    fc
      .record({
        version: bigIntIn(opts.version, { min: 0n, max: 1n << 20n }),
        allocation: arbAllocation({ ...opts, numParts: p.parts.length }),
        data: opts.data ?? fc.constant(new Uint8Array(0)),
        isFinal: opts.isFinal === undefined ? fc.boolean() : fc.constant(opts.isFinal),
      })
      .map((s) => ({ params: p, state: { id: p.id, app: p.app, ...s } })),
  );
}

/** A state (of the channel `opts.params`, or of a random channel). */
export function arbState(opts: StateOptions = {}): fc.Arbitrary<State> {
  return arbChannelState(opts).map(({ state }) => state);
}

/** Which signature slots of a transaction are filled. */
export type SigsOption = "full" | "partial" | "none" | "any";

export interface TransactionOptions extends StateOptions {
  /** Default "any". Signatures are random bytes of the backend's `signatureLength`; see {@link signState}. */
  readonly sigs?: SigsOption;
}

function arbSigs(
  n: number,
  which: SigsOption,
  backend: ChannelBackend,
): fc.Arbitrary<(Signature | undefined)[]> {
  const len = backend.signatureLength;
  const sig = fc.uint8Array({ minLength: len, maxLength: len });
  const mask =
    which === "full"
      ? fc.constant(Array<boolean>(n).fill(true))
      : which === "none"
        ? fc.constant(Array<boolean>(n).fill(false))
        : which === "partial"
          ? fc
              .array(fc.boolean(), { minLength: n, maxLength: n })
              .filter((m) => m.some((x) => x) && m.some((x) => !x))
          : fc.array(fc.boolean(), { minLength: n, maxLength: n });
  return mask.chain((m) => fc.tuple(...m.map((present) => (present ? sig : fc.constant(undefined)))));
}

/** A channel's params with a transaction of that channel. */
export function arbChannelTransaction(
  opts: TransactionOptions = {},
): fc.Arbitrary<{ params: Params; tx: Transaction }> {
  const { backend } = backendOf(opts);
  return arbChannelState(opts).chain(({ params, state }) =>
    arbSigs(params.parts.length, opts.sigs ?? "any", backend).map((sigs) => ({
      params,
      tx: { state, sigs },
    })),
  );
}

/** A transaction (state plus one signature slot per participant). */
export function arbTransaction(opts: TransactionOptions = {}): fc.Arbitrary<Transaction> {
  return arbChannelTransaction(opts).map(({ tx }) => tx);
}

/**
 * A signed state with every signature present. The signatures are random bytes of the right
 * length (arbitraries are synchronous); use {@link signState} for verifiable ones.
 */
export function arbSignedState(opts: StateOptions = {}): fc.Arbitrary<SignedState> {
  return arbChannelTransaction({ ...opts, sigs: "full" }).map(({ params, tx }) => ({
    params,
    state: tx.state as State,
    sigs: tx.sigs as Signature[],
  }));
}

/** Real signatures of `state` by each account, in order (e.g. to build a verifiable `SignedState`). */
export async function signState(
  backend: ChannelBackend,
  accounts: readonly Account[],
  state: State,
): Promise<Signature[]> {
  return Promise.all(accounts.map((a) => backend.sign(a, state)));
}
