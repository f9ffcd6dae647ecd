/**
 * The channel state machine with persistence: every successful mutating operation is followed by
 * the `Persister` call of spec §3.2/§6.2 before it returns, so nothing is ever sent that is not
 * stored first (persist-before-send).
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

/** Wraps a `StateMachine`; all calls must be serialised by the channel lock. */
export class PersistingMachine {
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

  async init(allocation: Allocation, data: Uint8Array): Promise<void> {
    this.machine.init(allocation, data);
    await this.persister?.staged(this.machine.source());
  }

  async sig(): Promise<Signature> {
    const sig = await this.machine.sig();
    await this.persister?.sigAdded(this.machine.source(), this.machine.idx);
    return sig;
  }

  async addSig(idx: number, sig: Signature): Promise<void> {
    await this.machine.addSig(idx, sig);
    await this.persister?.sigAdded(this.machine.source(), idx);
  }

  async enableInit(): Promise<void> {
    this.machine.enableInit();
    await this.persister?.enabled(this.machine.source());
  }

  async setFunded(): Promise<void> {
    this.machine.setFunded();
    await this.persister?.phaseChanged(this.machine.source());
  }

  async update(state: State, actorIdx: number): Promise<void> {
    this.machine.update(state, actorIdx);
    await this.persister?.staged(this.machine.source());
  }

  /** Stages a state without the update rules (importing a state signed elsewhere). */
  async forceUpdate(state: State): Promise<void> {
    this.machine.forceUpdate(state);
    await this.persister?.staged(this.machine.source());
  }

  async discardUpdate(): Promise<void> {
    this.machine.discardUpdate();
    await this.persister?.staged(this.machine.source());
  }

  /** Enables the fully signed staged state (final or not). */
  async enable(): Promise<void> {
    if (this.machine.staging.state?.isFinal) this.machine.enableFinal();
    else this.machine.enableUpdate();
    await this.persister?.enabled(this.machine.source());
  }

  /**
   * Makes a fully signed newer state of the peer current (channel sync, Acting only): staged
   * without the transition rules (every signature, the own included, is verified by `addSig`),
   * then enabled — persisted at each step like a normal update.
   */
  async adopt(state: State, sigs: readonly Signature[]): Promise<void> {
    this.machine.forceUpdate(state);
    await this.persister?.staged(this.machine.source());
    try {
      for (const [i, sig] of sigs.entries()) await this.addSig(i, sig);
    } catch (e) {
      await this.discardUpdate();
      throw e;
    }
    await this.enable();
  }

  async setRegistering(): Promise<void> {
    this.machine.setRegistering();
    await this.persister?.phaseChanged(this.machine.source());
  }

  async setRegistered(): Promise<void> {
    this.machine.setRegistered();
    await this.persister?.phaseChanged(this.machine.source());
  }

  async setProgressing(state: State): Promise<void> {
    this.machine.setProgressing(state);
    await this.persister?.staged(this.machine.source());
  }

  async setProgressed(state: State): Promise<void> {
    this.machine.setProgressed(state);
    await this.persister?.enabled(this.machine.source());
  }

  async setWithdrawing(): Promise<void> {
    this.machine.setWithdrawing();
    await this.persister?.phaseChanged(this.machine.source());
  }

  async setWithdrawn(): Promise<void> {
    this.machine.setWithdrawn();
    await this.persister?.channelRemoved(this.machine.id);
  }
}
