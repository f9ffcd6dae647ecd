/**
 * The channel state machine with persistence, writing as few records as persist-before-send allows.
 *
 * Every `Persister` call stores the channel's whole record, so the steps of one update need not
 * each be written: staging a state (`init`, `update`, `forceUpdate`, `setProgressing`) and adding
 * a peer's signature (`addSig`) only mark the machine as ahead of storage; the next write carries
 * them. A write happens
 * - in `sig`, right before the own signature can leave the process (a send or a chain call): one
 *   `staged` call holding the phase, the staged state and every signature collected so far;
 * - in `enable`/`enableInit`: one `enabled` call (current state, phase, cleared staging) before the
 *   caller reports the update done;
 * - in every other mutating operation, after first writing anything still pending.
 *
 * One update thus costs each side two writes instead of four (proposer: stage+sign → write → send;
 * on the answer: addSig+enable → write; receiver: stage+addSig+sign → write → send the acceptance;
 * enable → write). The stored records are a subsequence of those the uncoalesced calls of spec §6.2
 * would store, and every send still follows a write of everything it reveals, so a crash restores
 * to a state restore and sync already handle: one the old sequence could also have crashed in.
 */
import type {
  Allocation,
  Persister,
  Phase,
  Signature,
  State,
  StateMachine,
  Transaction,
} from "@perun-ts/core";

/** What the machine holds that storage does not: nothing, staging signatures, or a new staged state. */
type Unsaved = "none" | "sigs" | "staged";

/** Wraps a `StateMachine`; all calls must be serialised by the channel lock. */
export class PersistingMachine {
  #unsaved: Unsaved = "none";
  /** Index of the last signature added while only signatures were pending. */
  #unsavedSigIdx = 0;

  constructor(
    readonly machine: StateMachine,
    readonly persister: Persister | undefined,
  ) {}

  get phase(): Phase {
    return this.machine.phase;
  }
  get idx(): number {
    return this.machine.idx;
  }
  get current(): Transaction {
    return this.machine.current;
  }
  get staging(): Transaction {
    return this.machine.staging;
  }

  /** Stages the initial state; stored with the own signature by `sig` (or by `enableInit`). */
  async init(allocation: Allocation, data: Uint8Array): Promise<void> {
    this.machine.init(allocation, data);
    this.#unsaved = "staged";
  }

  /** Signs the staging state and stores it with every signature so far before returning the signature. */
  async sig(): Promise<Signature> {
    const sig = await this.machine.sig();
    if (this.#unsaved === "staged") await this.#write((p, s) => p.staged(s));
    else await this.#write((p, s) => p.sigAdded(s, this.machine.idx));
    return sig;
  }

  /** Adds a verified peer signature; stored by the next write (it reveals nothing of ours). */
  async addSig(idx: number, sig: Signature): Promise<void> {
    await this.machine.addSig(idx, sig);
    if (this.#unsaved === "staged") return;
    this.#unsaved = "sigs";
    this.#unsavedSigIdx = idx;
  }

  async enableInit(): Promise<void> {
    this.machine.enableInit();
    await this.#write((p, s) => p.enabled(s));
  }

  async setFunded(): Promise<void> {
    await this.#flush();
    this.machine.setFunded();
    await this.#write((p, s) => p.phaseChanged(s));
  }

  /** Stages an update; stored with the own signature by `sig` (or by `enable`). */
  async update(state: State, actorIdx: number): Promise<void> {
    this.machine.update(state, actorIdx);
    this.#unsaved = "staged";
  }

  /** Stages a state without the update rules (importing a state signed elsewhere). */
  async forceUpdate(state: State): Promise<void> {
    this.machine.forceUpdate(state);
    this.#unsaved = "staged";
  }

  async discardUpdate(): Promise<void> {
    this.machine.discardUpdate();
    await this.#write((p, s) => p.staged(s));
  }

  /** Enables the fully signed staged state (final or not). */
  async enable(): Promise<void> {
    if (this.machine.staging.state?.isFinal) this.machine.enableFinal();
    else this.machine.enableUpdate();
    await this.#write((p, s) => p.enabled(s));
  }

  /**
   * Makes a fully signed newer state of the peer current (channel sync, Acting only): staged
   * without the transition rules (every signature, the own included, is verified by `addSig`),
   * then enabled and stored in one write.
   */
  async adopt(state: State, sigs: readonly Signature[]): Promise<void> {
    await this.forceUpdate(state);
    try {
      for (const [i, sig] of sigs.entries()) await this.addSig(i, sig);
    } catch (e) {
      await this.discardUpdate();
      throw e;
    }
    await this.enable();
  }

  async setRegistering(): Promise<void> {
    await this.#flush();
    this.machine.setRegistering();
    await this.#write((p, s) => p.phaseChanged(s));
  }

  async setRegistered(): Promise<void> {
    await this.#flush();
    this.machine.setRegistered();
    await this.#write((p, s) => p.phaseChanged(s));
  }

  /** Stages the state to progress; stored with the own signature by `sig`. */
  async setProgressing(state: State): Promise<void> {
    await this.#flush();
    this.machine.setProgressing(state);
    this.#unsaved = "staged";
  }

  async setProgressed(state: State): Promise<void> {
    this.machine.setProgressed(state);
    await this.#write((p, s) => p.enabled(s));
  }

  async setWithdrawing(): Promise<void> {
    await this.#flush();
    this.machine.setWithdrawing();
    await this.#write((p, s) => p.phaseChanged(s));
  }

  async setWithdrawn(): Promise<void> {
    this.machine.setWithdrawn();
    await this.#write((p) => p.channelRemoved(this.machine.id));
  }

  /** Writes what is still pending, so that an operation storing less than the whole record follows it. */
  async #flush(): Promise<void> {
    if (this.#unsaved === "staged") await this.#write((p, s) => p.staged(s));
    else if (this.#unsaved === "sigs") await this.#write((p, s) => p.sigAdded(s, this.#unsavedSigIdx));
  }

  /** One persister call carrying the machine's whole state; afterwards nothing is pending. */
  async #write(
    call: (p: Persister, source: ReturnType<StateMachine["source"]>) => Promise<void>,
  ): Promise<void> {
    if (this.persister) await call(this.persister, this.machine.source());
    this.#unsaved = "none";
  }
}
