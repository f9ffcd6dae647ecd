// A scripted in-memory adjudicator for unit tests: records register calls and emits exactly the
// events the test pushes (no chain rules; the scenario tests use SimLedger for those).
import {
  type Adjudicator,
  type AdjudicatorEvent,
  type AdjudicatorReq,
  type AdjudicatorSubscription,
  type CallOptions,
  type ChannelId,
  channelIdHex,
  type RegisteredEvent,
  type SignedState,
  type State,
  type Timeout,
} from "@perun-ts/core";

/** A timeout the test opens and closes by hand. */
export class ManualTimeout implements Timeout {
  elapsed = false;
  async isElapsed(): Promise<boolean> {
    return this.elapsed;
  }
  async wait(): Promise<void> {
    if (!this.elapsed) throw new Error("ManualTimeout.wait is not used by these tests");
  }
}

class ScriptedSubscription implements AdjudicatorSubscription {
  readonly #queue: AdjudicatorEvent[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #error: unknown;
  constructor(readonly onClose: () => void) {}

  push(e: AdjudicatorEvent): void {
    this.#queue.push(e);
    this.#wake?.();
  }
  fail(err: unknown): void {
    this.#error = err;
    this.#wake?.();
  }
  close(): void {
    this.#closed = true;
    this.onClose();
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<AdjudicatorEvent> {
    for (;;) {
      const e = this.#queue.shift();
      if (e) {
        yield e;
        continue;
      }
      if (this.#closed) return;
      if (this.#error !== undefined) throw this.#error;
      await new Promise<void>((r) => {
        this.#wake = r;
      });
      this.#wake = undefined;
    }
  }
}

export interface RegisterCall {
  readonly req: AdjudicatorReq;
  readonly subStates: readonly SignedState[];
}

export class RecordingAdjudicator implements Adjudicator {
  readonly registers: RegisterCall[] = [];
  readonly #subs = new Map<string, Set<ScriptedSubscription>>();
  /** Number of upcoming `register` calls that fail. */
  failRegisters = 0;
  /** Emit a RegisteredEvent per registered channel after a successful `register`. */
  echoRegistrations = true;
  /** When set, `register` waits for it after recording the call (to interleave test steps). */
  gate: Promise<void> | undefined;
  /** Timeout attached to echoed events. */
  timeout = new ManualTimeout();

  openSubscriptions(id?: ChannelId): number {
    if (id) return this.#subs.get(channelIdHex(id))?.size ?? 0;
    let n = 0;
    for (const s of this.#subs.values()) n += s.size;
    return n;
  }

  emit(e: AdjudicatorEvent): void {
    for (const s of this.#subs.get(channelIdHex(e.id)) ?? []) s.push(e);
  }

  failSubscriptions(id: ChannelId, err: unknown): void {
    for (const s of this.#subs.get(channelIdHex(id)) ?? []) s.fail(err);
  }

  registered(state: State, timeout: Timeout = this.timeout): RegisteredEvent {
    return { type: "registered", id: state.id, version: state.version, timeout, state, sigs: [] };
  }

  async register(req: AdjudicatorReq, subStates: readonly SignedState[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    this.registers.push({ req, subStates });
    if (this.gate) await this.gate;
    if (this.failRegisters > 0) {
      this.failRegisters--;
      throw new Error("scripted register failure");
    }
    if (!this.echoRegistrations) return;
    const root = req.tx.state;
    if (root) this.emit(this.registered(root));
    for (const s of subStates) this.emit(this.registered(s.state));
  }

  async progress(): Promise<void> {
    throw new Error("not used");
  }

  async withdraw(): Promise<void> {
    throw new Error("not used");
  }

  async subscribe(id: ChannelId, opts?: CallOptions): Promise<AdjudicatorSubscription> {
    opts?.signal?.throwIfAborted();
    const key = channelIdHex(id);
    const set = this.#subs.get(key) ?? new Set();
    this.#subs.set(key, set);
    const sub: ScriptedSubscription = new ScriptedSubscription(() => set.delete(sub));
    set.add(sub);
    return sub;
  }
}
