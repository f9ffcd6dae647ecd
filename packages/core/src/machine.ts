/**
 * The channel state machine (spec §3): phases, an explicit transition table, the current and
 * staging transactions and the collection of signatures. It never persists anything itself; the
 * client wraps it and calls the `Persister` after every successful mutating operation:
 *
 * | operation                         | Persister call after success |
 * |-----------------------------------|------------------------------|
 * | `init`, `update`, `forceUpdate`, `discardUpdate`, `setProgressing` | `staged(source)` |
 * | `sig`                             | `sigAdded(source, idx)` (own index) |
 * | `addSig(i, sig)`                  | `sigAdded(source, i)` |
 * | `enableInit`, `enableUpdate`, `enableFinal`, `setProgressed` | `enabled(source)` |
 * | `setFunded`, `setRegistering`, `setRegistered`, `setWithdrawing` | `phaseChanged(source)` |
 * | `setWithdrawn`                    | `channelRemoved(id)` |
 * | `checkUpdate`                     | none (read-only) |
 *
 * Each call stores the channel's whole record, so a client may coalesce consecutive calls into the
 * last one as long as every send follows a write of what it reveals (@perun-ts/client writes once
 * before each send and once per enabled state).
 *
 * Every mutating operation either completes or throws and leaves the machine exactly as it was.
 * Operations on one machine must be serialised by the caller (the channel lock, spec §3.3); an
 * asynchronous operation that finds the staging transaction replaced while it awaited the backend
 * fails instead of mixing two states.
 */
import { type Allocation, cloneAllocation } from "./allocation.js";
import { bytesEqual } from "./bytes.js";
import type { ChannelBackend } from "./channel-backend.js";
import { type ChannelId, channelIdEquals, channelIdHex } from "./channel-id.js";
import {
  InvalidSignatureError,
  PerunError,
  PhaseTransitionError,
  SignatureError,
  StateTransitionError,
  ValidationError,
} from "./errors.js";
import type { Account, Signature } from "./identity.js";
import { Params } from "./params.js";
import type { ChannelSource } from "./persistence.js";
import { isPhase, Phase, phaseName } from "./phase.js";
import { cloneState, makeInitialState, type State, stateEquals } from "./state.js";
import { emptyTransaction, type Transaction } from "./transaction.js";
import { checkGenericTransition, checkTransition, TransitionRule } from "./validity.js";

const {
  InitActing,
  InitSigning,
  Funding,
  Acting,
  Signing,
  Final,
  Registering,
  Registered,
  Progressing,
  Progressed,
  Withdrawing,
  Withdrawn,
} = Phase;

/**
 * Every legal phase transition `[from, to]`. The declared go-perun table (spec §3.2) plus the
 * edges its code allowed implicitly and the TS fixes of spec §3.2:
 * - Final→Withdrawing: cooperative settlement of a final channel (SetWithdrawing accepts Final);
 * - Registered→Registering: re-register a newer state (refutation);
 * - Progressed→Registering: a progressed sub-channel takes part when its tree is registered again;
 * - Registering→Registering: retry a registration whose transaction failed;
 * - Registered→Registered: a further Registered event (e.g. the peer's refutation) while registered;
 * - Registered/Progressed→Progressing, Progressing→Registered (the progression failed);
 * - Progressed→Progressed: another force-execution step while in the force-execution window;
 * - Withdrawing→Withdrawing: retry a withdrawal (idempotent).
 */
export const PHASE_EDGES: readonly (readonly [Phase, Phase])[] = Object.freeze([
  [InitActing, InitSigning],
  [InitSigning, Funding],
  [Funding, Acting],
  [Acting, Signing],
  [Signing, Acting],
  [Signing, Final],
  [Funding, Registering],
  [Acting, Registering],
  [Signing, Registering],
  [Final, Registering],
  [Funding, Registered],
  [Acting, Registered],
  [Signing, Registered],
  [Final, Registered],
  [Registering, Registered],
  [Registered, Withdrawing],
  [Registered, Progressed],
  [Progressing, Progressed],
  [Progressed, Withdrawing],
  [Withdrawing, Withdrawn],
  // Implicit in go-perun's code, and the TS additions (see above).
  [Final, Withdrawing],
  [Registered, Registering],
  [Progressed, Registering],
  [Registering, Registering],
  [Registered, Registered],
  [Registered, Progressing],
  [Progressed, Progressing],
  [Progressing, Registered],
  [Progressed, Progressed],
  [Withdrawing, Withdrawing],
] as const);

const edgeSet = new Set(PHASE_EDGES.map(([from, to]) => edgeKey(from, to)));

function edgeKey(from: Phase, to: Phase): number {
  return from * 16 + to;
}

/** True iff the transition table contains `from → to`. */
export function isPhaseTransitionAllowed(from: Phase, to: Phase): boolean {
  return edgeSet.has(edgeKey(from, to));
}

/** Phases in which the staging state collects signatures (`sig`, `addSig`). */
export const SIGNING_PHASES: readonly Phase[] = Object.freeze([InitSigning, Signing, Progressing]);

/** The machine operations that are bound to phases (`checkUpdate` is read-only and phase-free). */
export type MachineOperation =
  | "init"
  | "sig"
  | "addSig"
  | "enableInit"
  | "setFunded"
  | "update"
  | "forceUpdate"
  | "discardUpdate"
  | "enableUpdate"
  | "enableFinal"
  | "setRegistering"
  | "setRegistered"
  | "setProgressing"
  | "setProgressed"
  | "setWithdrawing"
  | "setWithdrawn";

function sourcesOf(to: Phase): readonly Phase[] {
  return PHASE_EDGES.filter(([, t]) => t === to).map(([f]) => f);
}

/**
 * Per operation: the phases it may be called in and the phase it moves to (`undefined`: unchanged).
 * Every `from → to` here is an edge of `PHASE_EDGES`; anything else throws `PhaseTransitionError`.
 */
export const OPERATION_PHASES: Readonly<
  Record<MachineOperation, { readonly from: readonly Phase[]; readonly to: Phase | undefined }>
> = Object.freeze({
  init: { from: [InitActing], to: InitSigning },
  sig: { from: SIGNING_PHASES, to: undefined },
  addSig: { from: SIGNING_PHASES, to: undefined },
  enableInit: { from: [InitSigning], to: Funding },
  setFunded: { from: [Funding], to: Acting },
  update: { from: [Acting], to: Signing },
  forceUpdate: { from: [Acting], to: Signing },
  discardUpdate: { from: [Signing], to: Acting },
  enableUpdate: { from: [Signing], to: Acting },
  enableFinal: { from: [Signing], to: Final },
  setRegistering: { from: sourcesOf(Registering), to: Registering },
  setRegistered: { from: sourcesOf(Registered), to: Registered },
  setProgressing: { from: sourcesOf(Progressing), to: Progressing },
  setProgressed: { from: sourcesOf(Progressed), to: Progressed },
  setWithdrawing: { from: sourcesOf(Withdrawing), to: Withdrawing },
  setWithdrawn: { from: sourcesOf(Withdrawn), to: Withdrawn },
});

/**
 * The app data of states without any, shared by every machine: a zero-length array has no content
 * to change, and one per held state would cost ~200 bytes of heap per idle channel.
 */
const NO_DATA = new Uint8Array(0);

function freezeTx(state: State | undefined, sigs: readonly (Signature | undefined)[]): Transaction {
  return Object.freeze({ state, sigs: Object.freeze([...sigs]) });
}

/**
 * A channel's state machine for the own participant `idx` (n-party). Signatures go through the
 * injected `ChannelBackend`; nothing is persisted here (see the table at the top of this module).
 *
 * @example
 * ```ts
 * const m = new StateMachine(params, account, 0, backend);
 * m.init(allocation, new Uint8Array());   // persister.staged(m.source())
 * const own = await m.sig();              // persister.sigAdded(m.source(), 0)
 * await m.addSig(1, peerSig);             // persister.sigAdded(m.source(), 1)
 * m.enableInit();                         // persister.enabled(m.source())
 * ```
 */
export class StateMachine {
  readonly #params: Params;
  readonly #account: Account;
  readonly #idx: number;
  readonly #backend: ChannelBackend;
  #phase: Phase = InitActing;
  #current: Transaction = emptyTransaction;
  #staging: Transaction = emptyTransaction;
  /** The last signature `checkUpdate` verified, so `addSig` of the same signature skips a re-verification. */
  #verified: { readonly state: State; readonly idx: number; readonly sig: Signature } | undefined;

  /**
   * @param idx own participant index; `account.address` must be `params.parts[idx]`.
   * @throws ValidationError if it is not.
   */
  constructor(params: Params, account: Account, idx: number, backend: ChannelBackend) {
    if (!Number.isInteger(idx) || idx < 0 || idx >= params.parts.length) {
      throw new ValidationError(`own index ${idx} is not a participant index`);
    }
    if (!account.address.equals(params.parts[idx] as Params["parts"][number])) {
      throw new ValidationError(`account ${account.address.toString()} is not participant ${idx}`);
    }
    this.#params = params;
    this.#account = account;
    this.#idx = idx;
    this.#backend = backend;
  }

  /**
   * Rebuilds a machine from its persisted view (spec §4.10), checking that the view is consistent
   * (own index and account, transaction shapes, state ids, what the phase requires).
   *
   * @throws ValidationError for an inconsistent source.
   */
  static restore(source: ChannelSource, account: Account, backend: ChannelBackend): StateMachine {
    if (!(source.params instanceof Params)) throw new ValidationError("source params are not Params");
    if (!channelIdEquals(source.id, source.params.id)) {
      throw new ValidationError("source id does not match its params");
    }
    if (!isPhase(source.phase)) throw new ValidationError(`unknown phase ${String(source.phase)}`);
    const m = new StateMachine(source.params, account, source.idx, backend);
    const current = m.#checkRestoredTx(source.current, "current");
    const staging = m.#checkRestoredTx(source.staging, "staging");
    const phase = source.phase;
    if (phase === InitActing && (current.state || staging.state)) {
      throw new ValidationError("phase InitActing with a state");
    }
    if (phase === InitSigning && current.state)
      throw new ValidationError("phase InitSigning with a current state");
    if (SIGNING_PHASES.includes(phase) && !staging.state) {
      throw new ValidationError(`phase ${phaseName(phase)} without a staging state`);
    }
    if (phase !== InitActing && phase !== InitSigning && !current.state) {
      throw new ValidationError(`phase ${phaseName(phase)} without a current state`);
    }
    m.#phase = phase;
    m.#current = current;
    m.#staging = staging;
    return m;
  }

  #checkRestoredTx(tx: Transaction, name: string): Transaction {
    const n = this.#params.parts.length;
    if (!Array.isArray(tx.sigs)) throw new ValidationError(`${name} signatures missing`);
    for (const [i, s] of tx.sigs.entries()) {
      if (s !== undefined && (!(s instanceof Uint8Array) || s.length !== this.#backend.signatureLength)) {
        throw new ValidationError(`${name} signature ${i} is malformed`);
      }
    }
    if (tx.state === undefined) {
      if (tx.sigs.some((s) => s !== undefined))
        throw new ValidationError(`${name} has signatures but no state`);
      return emptyTransaction;
    }
    if (!channelIdEquals(tx.state.id, this.#params.id)) {
      throw new ValidationError(`${name} state belongs to another channel`);
    }
    if (tx.sigs.length !== n)
      throw new ValidationError(`${name} has ${tx.sigs.length} signature slots for ${n}`);
    return freezeTx(
      this.#own(tx.state),
      tx.sigs.map((s) => s?.slice()),
    );
  }

  // ---------------------------------------------------------------- accessors

  get phase(): Phase {
    return this.#phase;
  }

  /** Own participant index. */
  get idx(): number {
    return this.#idx;
  }

  get params(): Params {
    return this.#params;
  }

  get id(): ChannelId {
    return this.#params.id;
  }

  /** Own participant account. */
  get account(): Account {
    return this.#account;
  }

  /** Latest fully signed (or progressed on chain) transaction. Immutable: do not modify. */
  get current(): Transaction {
    return this.#current;
  }

  /** The candidate next state with the signatures collected so far. Immutable: do not modify. */
  get staging(): Transaction {
    return this.#staging;
  }

  /** True in InitSigning, Signing and Progressing. */
  get isSigning(): boolean {
    return SIGNING_PHASES.includes(this.#phase);
  }

  /** True once a state of the channel is registered on chain (Registered and later). */
  get isRegistered(): boolean {
    return this.#phase >= Registered;
  }

  /** The persisted view of the machine (spec §3.1 `Source`); transactions are shared, immutable. */
  source(): ChannelSource {
    return {
      id: this.#params.id,
      idx: this.#idx,
      params: this.#params,
      phase: this.#phase,
      current: this.#current,
      staging: this.#staging,
    };
  }

  // ---------------------------------------------------------------- opening

  /**
   * Stages the version-0 state (InitActing → InitSigning).
   * @throws ValidationError for a malformed allocation, StateTransitionError if the app rejects it.
   */
  init(allocation: Allocation, data: Uint8Array = new Uint8Array()): void {
    this.#expect("init");
    const own = data.length === 0 ? NO_DATA : data.slice();
    const state = makeInitialState(this.#params, cloneAllocation(allocation), own);
    this.#staging = freezeTx(state, this.#noSigs());
    this.#phase = InitSigning;
  }

  /** Current state fully signed: InitSigning → Funding. */
  enableInit(): void {
    this.#enable("enableInit", Funding, false);
  }

  /** Funding → Acting. */
  setFunded(): void {
    this.#setPhase("setFunded", Acting);
  }

  // ---------------------------------------------------------------- signatures

  /**
   * Signs the staging state with the own account (once; later calls return the cached signature).
   * Allowed in InitSigning, Signing and Progressing.
   */
  async sig(): Promise<Signature> {
    this.#expect("sig");
    const staged = this.#staging;
    const cached = staged.sigs[this.#idx];
    if (cached) return cached;
    const sig = await this.#backend.sign(this.#account, staged.state as State);
    this.#assertStagingUnchanged("sig", staged);
    this.#staging = freezeTx(staged.state, withSig(staged.sigs, this.#idx, sig));
    return sig;
  }

  /**
   * Adds participant `idx`'s signature on the staging state after verifying it against
   * `params.parts[idx]` (skipped if `checkUpdate` just verified the same signature on an equal state).
   *
   * @throws InvalidSignatureError for a malformed or wrong signature, an out-of-range index or a slot
   *   that already holds a signature; PhaseTransitionError outside the signing phases.
   */
  async addSig(idx: number, sig: Signature): Promise<void> {
    this.#expect("addSig");
    const staged = this.#staging;
    const state = staged.state as State;
    this.#checkSigSlot(idx, sig);
    if (staged.sigs[idx] !== undefined) {
      throw new InvalidSignatureError(this.#idHex, idx, "signature slot already filled");
    }
    const memo = this.#verified;
    const alreadyVerified =
      memo !== undefined && memo.idx === idx && bytesEqual(memo.sig, sig) && stateEquals(memo.state, state);
    if (!alreadyVerified) await this.#verify(state, idx, sig);
    this.#assertStagingUnchanged("addSig", staged);
    this.#verified = undefined;
    this.#staging = freezeTx(state, withSig(staged.sigs, idx, sig.slice()));
  }

  // ---------------------------------------------------------------- updates

  /**
   * Stages `state` proposed by participant `actorIdx` after the full validity check of spec §2.9
   * (Acting → Signing).
   * @throws StateTransitionError naming the violated rule.
   */
  update(state: State, actorIdx: number): void {
    this.#expect("update");
    checkTransition(this.#params, this.#current.state as State, state, actorIdx);
    this.#staging = freezeTx(this.#own(state), this.#noSigs());
    this.#phase = Signing;
  }

  /**
   * Stages `state` without the validity rules (Acting → Signing): for importing a state whose
   * signatures are checked separately (e.g. the hub's copy of a virtual channel). Only the channel
   * id is checked.
   */
  forceUpdate(state: State): void {
    this.#expect("forceUpdate");
    this.#checkId(state);
    this.#staging = freezeTx(this.#own(state), this.#noSigs());
    this.#phase = Signing;
  }

  /**
   * Read-only: would `update(state, actorIdx)` succeed, and is `sig` participant `sigIdx`'s signature
   * on `state`? Allowed in any phase that has a current state.
   * @throws StateTransitionError or InvalidSignatureError.
   */
  async checkUpdate(state: State, actorIdx: number, sig: Signature, sigIdx: number): Promise<void> {
    const current = this.#current.state;
    if (!current) throw new StateTransitionError(this.#idHex, "channel has no current state");
    checkTransition(this.#params, current, state, actorIdx);
    this.#checkSigSlot(sigIdx, sig);
    const snapshot = cloneState(state);
    const copy = sig.slice();
    await this.#verify(snapshot, sigIdx, copy);
    this.#verified = { state: snapshot, idx: sigIdx, sig: copy };
  }

  /** Drops the staged update (Signing → Acting). */
  discardUpdate(): void {
    this.#expect("discardUpdate");
    this.#staging = emptyTransaction;
    this.#phase = Acting;
  }

  /** Makes the fully signed, non-final staged state current (Signing → Acting). */
  enableUpdate(): void {
    this.#enable("enableUpdate", Acting, false);
  }

  /** Makes the fully signed final staged state current (Signing → Final). */
  enableFinal(): void {
    this.#enable("enableFinal", Final, true);
  }

  // ---------------------------------------------------------------- disputes

  /** An on-chain registration starts. */
  setRegistering(): void {
    this.#setPhase("setRegistering", Registering);
  }

  /** A state of this channel is registered on chain. */
  setRegistered(): void {
    this.#setPhase("setRegistered", Registered);
  }

  /**
   * Stages the state to progress on chain (Registered/Progressed → Progressing) after the generic
   * rules (the app's rules are enforced by the adjudicator).
   * @throws StateTransitionError naming the violated rule.
   */
  setProgressing(state: State): void {
    this.#expect("setProgressing");
    checkGenericTransition(this.#params, this.#current.state as State, state);
    this.#staging = freezeTx(this.#own(state), this.#noSigs());
    this.#phase = Progressing;
  }

  /**
   * A progressed state is on chain: it becomes current without signatures, staging is cleared.
   * @throws StateTransitionError if `state` belongs to another channel.
   */
  setProgressed(state: State): void {
    this.#expect("setProgressed");
    this.#checkId(state);
    this.#current = freezeTx(this.#own(state), this.#noSigs());
    this.#staging = emptyTransaction;
    this.#phase = Progressed;
  }

  /** Conclusion/withdrawal starts (also a retry from Withdrawing). */
  setWithdrawing(): void {
    this.#setPhase("setWithdrawing", Withdrawing);
  }

  /** Funds withdrawn; terminal. */
  setWithdrawn(): void {
    this.#setPhase("setWithdrawn", Withdrawn);
  }

  // ---------------------------------------------------------------- helpers

  /** Hex of the channel id for error messages (made on demand: idle machines keep no string). */
  get #idHex(): string {
    return channelIdHex(this.#params.id);
  }

  /** A fresh empty signature vector (not kept per machine: idle channels stay small). */
  #noSigs(): readonly undefined[] {
    return new Array<undefined>(this.#params.parts.length).fill(undefined);
  }

  /**
   * The machine's own copy of `state`. An id equal to the channel's shares `params.id`, and empty
   * app data the shared empty array, so a held state adds no second copy of either.
   */
  #own(s: State): State {
    return {
      id: channelIdEquals(s.id, this.#params.id) ? this.#params.id : s.id,
      version: s.version,
      app: s.app,
      allocation: cloneAllocation(s.allocation),
      data: s.data.length === 0 ? NO_DATA : s.data.slice(),
      isFinal: s.isFinal,
    };
  }

  /** Throws `PhaseTransitionError` unless `operation` may run in the current phase. */
  #expect(operation: MachineOperation): void {
    const { from, to } = OPERATION_PHASES[operation];
    if (!from.includes(this.#phase)) {
      const sources = from.map(phaseName).join("|");
      const expected = to === undefined ? sources : `${sources} → ${phaseName(to)}`;
      throw new PhaseTransitionError(this.#idHex, operation, phaseName(this.#phase), expected);
    }
  }

  #setPhase(operation: MachineOperation, to: Phase): void {
    this.#expect(operation);
    this.#phase = to;
  }

  #enable(operation: MachineOperation, to: Phase, final: boolean): void {
    this.#expect(operation);
    const staged = this.#staging;
    const missing = staged.sigs.flatMap((s, i) => (s === undefined ? [i] : []));
    if (missing.length > 0) {
      throw new StateTransitionError(this.#idHex, `missing signatures of participants ${missing.join(", ")}`);
    }
    if ((staged.state as State).isFinal !== final) {
      throw new StateTransitionError(
        this.#idHex,
        final ? "staged state is not final" : "staged state is final (use enableFinal)",
      );
    }
    this.#current = staged;
    this.#staging = emptyTransaction;
    this.#phase = to;
  }

  #checkId(state: State): void {
    if (!channelIdEquals(state.id, this.#params.id)) {
      throw new StateTransitionError(this.#idHex, TransitionRule.id);
    }
  }

  #checkSigSlot(idx: number, sig: Signature): void {
    if (!Number.isInteger(idx) || idx < 0 || idx >= this.#params.parts.length) {
      throw new InvalidSignatureError(this.#idHex, idx, "no such participant");
    }
    if (!(sig instanceof Uint8Array) || sig.length !== this.#backend.signatureLength) {
      throw new InvalidSignatureError(this.#idHex, idx, "malformed signature (wrong length)");
    }
  }

  async #verify(state: State, idx: number, sig: Signature): Promise<void> {
    let ok: boolean;
    try {
      ok = await this.#backend.verify(this.#params.parts[idx] as Params["parts"][number], state, sig);
    } catch (e) {
      if (e instanceof SignatureError) {
        throw new InvalidSignatureError(this.#idHex, idx, "malformed signature", { cause: e });
      }
      throw e;
    }
    if (!ok)
      throw new InvalidSignatureError(this.#idHex, idx, "not a signature of this participant on this state");
  }

  #assertStagingUnchanged(operation: MachineOperation, staged: Transaction): void {
    if (this.#staging !== staged) {
      throw new PerunError(`${operation}: staging state of channel ${this.#idHex} changed concurrently`);
    }
  }
}

function withSig(
  sigs: readonly (Signature | undefined)[],
  idx: number,
  sig: Signature,
): (Signature | undefined)[] {
  const next = [...sigs];
  next[idx] = sig;
  return next;
}
