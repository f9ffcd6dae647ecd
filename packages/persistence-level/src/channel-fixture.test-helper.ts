// Builds channels and drives them through StateMachine transitions with the Persister call the
// client makes after each one (spec §6.2). Shared by this package's tests and its crash writer.
import { SimAccount, SimAsset, SimChannelBackend } from "@perun-ts/backend-sim";
import {
  type Account,
  AppRegistry,
  type ChannelId,
  type DecodeContext,
  noApp,
  Params,
  type PersistedChannel,
  type Persister,
  type State,
  StateMachine,
  transfer,
} from "@perun-ts/core";

export interface Fixture {
  readonly backend: SimChannelBackend;
  readonly ctx: DecodeContext;
  readonly own: Account;
  readonly peers: readonly Account[];
}

/** A backend, an empty app registry, the own account and `numPeers` peer accounts. */
export function makeFixture(numPeers = 3, secret?: (i: number) => Uint8Array): Fixture {
  const backend = new SimChannelBackend();
  const account = (i: number) => (secret ? SimAccount.fromSecretKey(secret(i)) : SimAccount.random());
  const peers = Array.from({ length: numPeers }, (_, i) => account(i + 1));
  return { backend, ctx: { backend, apps: new AppRegistry() }, own: account(0), peers };
}

/** Peer account `i` of the fixture. */
export function peerOf(f: Fixture, i: number): Account {
  const a = f.peers[i];
  if (!a) throw new RangeError(`the fixture has no peer ${i}`);
  return a;
}

/** A two-party channel between the own account (index 0) and `peer`, in phase InitActing. */
export class TestChannel {
  readonly machine: StateMachine;
  readonly accounts: readonly Account[];
  readonly parent: ChannelId | undefined;
  readonly #backend: SimChannelBackend;

  constructor(f: Fixture, peer: Account, nonce: bigint, parent?: ChannelId) {
    this.#backend = f.backend;
    this.accounts = [f.own, peer];
    this.parent = parent;
    const params = Params.create(
      {
        challengeDuration: 60n,
        parts: this.accounts.map((a) => a.address),
        app: noApp,
        nonce,
        ledgerChannel: parent === undefined,
        virtualChannel: false,
      },
      f.backend,
    );
    this.machine = new StateMachine(params, f.own, 0, f.backend);
  }

  get id(): ChannelId {
    return this.machine.id;
  }

  /** What a restorer must return for this channel now. */
  expected(): PersistedChannel {
    return { ...this.machine.source(), peers: this.accounts.map((a) => a.address), parent: this.parent };
  }

  created(pr: Persister): Promise<void> {
    return pr.channelCreated(
      this.machine.source(),
      this.accounts.map((a) => a.address),
      this.parent,
    );
  }

  /** Opening after channelCreated: init, both signatures, enable, funded. */
  async open(pr: Persister): Promise<void> {
    const m = this.machine;
    m.init({
      assets: [new SimAsset(0n)],
      balances: [[100n, 100n]],
      locked: [],
    });
    await pr.staged(m.source());
    await this.#sign(pr);
    m.enableInit();
    await pr.enabled(m.source());
    m.setFunded();
    await pr.phaseChanged(m.source());
  }

  /** Stages a payment of 1 from participant 0 to 1 (phase Signing). */
  async stage(pr: Persister, isFinal = false): Promise<void> {
    const m = this.machine;
    const cur = m.current.state as State;
    m.update(
      { ...cur, version: cur.version + 1n, allocation: transfer(cur.allocation, 0, 1, [1n]), isFinal },
      0,
    );
    await pr.staged(m.source());
  }

  /** Own signature on the staged state. */
  async ownSig(pr: Persister): Promise<void> {
    await this.machine.sig();
    await pr.sigAdded(this.machine.source(), 0);
  }

  /** A whole update: stage, both signatures, enable. */
  async update(pr: Persister, isFinal = false): Promise<void> {
    await this.stage(pr, isFinal);
    await this.#sign(pr);
    if (isFinal) this.machine.enableFinal();
    else this.machine.enableUpdate();
    await pr.enabled(this.machine.source());
  }

  async #sign(pr: Persister): Promise<void> {
    const m = this.machine;
    await m.sig();
    await pr.sigAdded(m.source(), 0);
    await m.addSig(1, await this.#backend.sign(this.accounts[1] as Account, m.staging.state as State));
    await pr.sigAdded(m.source(), 1);
  }
}

/**
 * A short fingerprint of what a channel record holds: phase, current and staging versions and
 * which staging signatures are present. Equal fingerprints of a machine and a restored record
 * mean the same transition was persisted.
 */
export function fingerprint(c: {
  readonly phase: number;
  readonly current: { readonly state: State | undefined };
  readonly staging: { readonly state: State | undefined; readonly sigs: readonly (Uint8Array | undefined)[] };
}): string {
  const v = (s: State | undefined) => (s === undefined ? "-" : s.version.toString());
  const mask = c.staging.sigs.map((s) => (s ? "1" : "0")).join("");
  return `${c.phase}/${v(c.current.state)}/${v(c.staging.state)}/${mask}`;
}
