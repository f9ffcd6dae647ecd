import { type ChannelId, channelIdHex } from "./channel-id.js";
import { UnknownChannelError, ValidationError } from "./errors.js";
import { type Address, addressKey } from "./identity.js";
import type { ChannelSource, PersistedChannel, PersistRestorer } from "./persistence.js";
import { cloneTransaction } from "./transaction.js";

type StoredChannel = {
  -readonly [K in keyof PersistedChannel]: PersistedChannel[K];
};

function copyChannel(c: PersistedChannel): StoredChannel {
  return {
    id: c.id.slice(),
    idx: c.idx,
    params: c.params, // immutable (frozen)
    phase: c.phase,
    current: cloneTransaction(c.current),
    staging: cloneTransaction(c.staging),
    peers: [...c.peers], // addresses are immutable
    parent: c.parent?.slice(),
  };
}

/**
 * An in-memory `PersistRestorer` (spec §6.1, §6.5): one record per channel plus a peer → channels
 * index. Every write on a channel that was not created first rejects with `UnknownChannelError`, so
 * ordering bugs surface. Stored and restored channels are deep copies, isolated from the caller's
 * objects. `staged` keeps the staging transaction with all its signatures (no stale signatures).
 * Data lives as long as the object; `close` keeps it, so the same instance can restore a client.
 */
export class MemoryPersistRestorer implements PersistRestorer {
  readonly #channels = new Map<string, StoredChannel>();
  readonly #peers = new Map<string, { readonly peer: Address; readonly channels: Set<string> }>();

  /** Number of persisted channels. */
  get size(): number {
    return this.#channels.size;
  }

  /** True if channel `id` is persisted. */
  has(id: ChannelId): boolean {
    return this.#channels.has(channelIdHex(id));
  }

  /** Ids of every persisted channel. */
  channelIds(): ChannelId[] {
    return [...this.#channels.values()].map((c) => c.id.slice());
  }

  async channelCreated(
    source: ChannelSource,
    peers: readonly Address[],
    parent: ChannelId | undefined,
  ): Promise<void> {
    if (peers.length !== source.params.parts.length) {
      throw new ValidationError(
        `channel ${channelIdHex(source.id)} has ${source.params.parts.length} participants but ${peers.length} peers`,
      );
    }
    const key = channelIdHex(source.id);
    this.#unindex(key);
    const record = copyChannel({ ...sourceFields(source), peers, parent });
    this.#channels.set(key, record);
    for (const peer of record.peers) {
      const pk = addressKey(peer);
      let entry = this.#peers.get(pk);
      if (!entry) {
        entry = { peer, channels: new Set() };
        this.#peers.set(pk, entry);
      }
      entry.channels.add(key);
    }
  }

  async staged(source: ChannelSource): Promise<void> {
    const c = this.#get(source.id);
    c.staging = cloneTransaction(source.staging);
    c.phase = source.phase;
  }

  async sigAdded(source: ChannelSource, idx: number): Promise<void> {
    const c = this.#get(source.id);
    if (!Number.isInteger(idx) || idx < 0 || idx >= c.params.parts.length) {
      throw new ValidationError(`signature index ${idx} out of range for channel ${channelIdHex(source.id)}`);
    }
    // The whole staging transaction: the new signature together with the state it signs.
    c.staging = cloneTransaction(source.staging);
  }

  async enabled(source: ChannelSource): Promise<void> {
    const c = this.#get(source.id);
    c.current = cloneTransaction(source.current);
    c.staging = cloneTransaction(source.staging);
    c.phase = source.phase;
  }

  async phaseChanged(source: ChannelSource): Promise<void> {
    this.#get(source.id).phase = source.phase;
  }

  async channelRemoved(id: ChannelId): Promise<void> {
    const key = channelIdHex(id);
    if (!this.#channels.has(key)) throw new UnknownChannelError(key);
    this.#unindex(key);
    this.#channels.delete(key);
  }

  /** Nothing to release; the data stays available for restoring. */
  async close(): Promise<void> {}

  async activePeers(): Promise<Address[]> {
    return [...this.#peers.values()].map((e) => e.peer);
  }

  async *restorePeer(peer: Address): AsyncIterable<PersistedChannel> {
    const entry = this.#peers.get(addressKey(peer));
    if (!entry) return;
    // Snapshot of the ids: channels removed meanwhile are skipped, never half-read.
    for (const key of [...entry.channels]) {
      const c = this.#channels.get(key);
      if (c) yield copyChannel(c);
    }
  }

  async restoreChannel(id: ChannelId): Promise<PersistedChannel> {
    return copyChannel(this.#get(id));
  }

  #get(id: ChannelId): StoredChannel {
    const key = channelIdHex(id);
    const c = this.#channels.get(key);
    if (!c) throw new UnknownChannelError(key);
    return c;
  }

  #unindex(key: string): void {
    const old = this.#channels.get(key);
    if (!old) return;
    for (const peer of old.peers) {
      const pk = addressKey(peer);
      const entry = this.#peers.get(pk);
      if (!entry) continue;
      entry.channels.delete(key);
      if (entry.channels.size === 0) this.#peers.delete(pk);
    }
  }
}

function sourceFields(s: ChannelSource): ChannelSource {
  return { id: s.id, idx: s.idx, params: s.params, phase: s.phase, current: s.current, staging: s.staging };
}
