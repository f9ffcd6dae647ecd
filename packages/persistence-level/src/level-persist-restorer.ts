import {
  type Address,
  CHANNEL_ID_LENGTH,
  type ChannelId,
  type ChannelSource,
  channelIdHex,
  type DecodeContext,
  DecodeError,
  encodeParams,
  encodeTransaction,
  type PersistedChannel,
  type PersistRestorer,
  PerunError,
  UnknownChannelError,
  ValidationError,
} from "@perun-ts/core";
import { ClassicLevel } from "classic-level";
import {
  PersistenceCorruptError,
  PersistenceError,
  PersisterClosedError,
  SchemaVersionError,
} from "./errors.js";
import { type BatchInfo, type BatchOperation, GroupCommitQueue } from "./group-commit.js";
import {
  CHANNEL_RANGE,
  channelIdOfKey,
  channelKey,
  decodeSchemaVersion,
  encodeSchemaVersion,
  keyHex,
  PEER_RANGE,
  parsePeerKey,
  peerKey,
  peerRange,
  SCHEMA_KEY,
  SCHEMA_VERSION,
} from "./keys.js";
import { decodeRecord, encodeFixed, encodeRecord, parseRecord, RecordFormatError } from "./record.js";

/** Options of {@link LevelPersistRestorer.open}. The backend and apps decode what is restored. */
export interface LevelPersistRestorerOptions extends DecodeContext {
  /**
   * Write with `sync: true`: a call resolves only after LevelDB has fsync'd its batch, so the data
   * survives an OS crash or power loss. Default false: data survives a crash of the process
   * (it is in the OS page cache) but the last writes may be lost if the machine fails.
   */
  readonly durable?: boolean;
  /**
   * Merge concurrent calls (of any channels) into one batch (default true); in durable mode many
   * writes then share one fsync. With false every call writes its own batch.
   */
  readonly groupCommit?: boolean;
  /** Called after each batch is written (metrics, tests). Must not throw; exceptions are ignored. */
  readonly onBatch?: (info: BatchInfo) => void;
}

/** Write counters since `open`. */
export interface PersisterStats {
  /** LevelDB batches written (= fsyncs in durable mode). */
  readonly batches: number;
  /** Persister calls whose data those batches carried. */
  readonly calls: number;
}

/** What {@link LevelPersistRestorer.verifyIntegrity} checked. */
export interface IntegrityReport {
  readonly channels: number;
  readonly peerEntries: number;
}

type Db = ClassicLevel<Uint8Array, Uint8Array>;

/**
 * A `PersistRestorer` on LevelDB (classic-level). Every Persister call is one atomic batch: the
 * channel's whole record (params, own index, phase, current transaction, staging transaction with
 * its full signature vector, peers, parent) is one value, and `channelCreated`/`channelRemoved`
 * write or delete the peer index entries in the same batch, so a crash never leaves a channel
 * invisible, half-removed or with stale signatures. Calls for channels that were never created
 * (or were removed) reject with `UnknownChannelError`, like core's `MemoryPersistRestorer`.
 *
 * With `durable: true`, writes are fsync'd; concurrent calls are merged into one batch (group
 * commit) and each call resolves only once its batch is on disk.
 *
 * Damaged data surfaces as `PersistenceCorruptError` (with the key and reason), a database of a
 * newer schema as `SchemaVersionError`, calls after `close` as `PersisterClosedError`.
 *
 * @example
 * ```ts
 * const pr = await LevelPersistRestorer.open("./channels", { backend, apps, durable: true });
 * const client = new Client({ ...deps, persister: pr });
 * // …
 * await pr.close();
 * ```
 */
export class LevelPersistRestorer implements PersistRestorer {
  readonly #db: Db;
  readonly #ctx: DecodeContext;
  readonly #queue: GroupCommitQueue;
  readonly #durable: boolean;
  /**
   * The record bytes of every channel this instance wrote or read (`null`: a removal not yet
   * written), so that a transition re-encodes only what changed without reading storage. One
   * array per channel: its sections are re-parsed as views on each transition (cheap), which keeps
   * idle channels small.
   */
  readonly #cache = new Map<string, Uint8Array | null>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #batches = 0;
  #calls = 0;

  private constructor(db: Db, opts: LevelPersistRestorerOptions) {
    this.#db = db;
    this.#ctx = { backend: opts.backend, apps: opts.apps };
    this.#durable = opts.durable ?? false;
    const onBatch = opts.onBatch;
    this.#queue = new GroupCommitQueue((ops, sync) => this.#db.batch(ops, { sync }), {
      sync: this.#durable,
      merge: opts.groupCommit ?? true,
      onBatch: (info) => {
        this.#batches++;
        this.#calls += info.calls;
        onBatch?.(info);
      },
    });
  }

  /**
   * Opens (creating if needed) the database in directory `location`. A new database gets the
   * schema version key; an existing one must carry a version this package reads. Rejects with
   * `SchemaVersionError`, `PersistenceCorruptError` or `PersistenceError` (e.g. the directory is
   * locked by another process).
   */
  static async open(location: string, opts: LevelPersistRestorerOptions): Promise<LevelPersistRestorer> {
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(location, {
      keyEncoding: "view",
      valueEncoding: "view",
    });
    try {
      await db.open();
    } catch (e) {
      throw new PersistenceError(`cannot open LevelDB at ${location}: ${describe(e)}`, { cause: e });
    }
    try {
      await checkSchema(db);
    } catch (e) {
      await db.close().catch(() => {});
      if (e instanceof PerunError) throw e;
      throw new PersistenceError(`cannot read LevelDB at ${location}: ${describe(e)}`, { cause: e });
    }
    return new LevelPersistRestorer(db, opts);
  }

  /** Directory of the database. */
  get location(): string {
    return this.#db.location;
  }

  /** True if writes are fsync'd before they resolve. */
  get durable(): boolean {
    return this.#durable;
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Batches and calls written so far. */
  get stats(): PersisterStats {
    return { batches: this.#batches, calls: this.#calls };
  }

  // ------------------------------------------------------------------------------- Persister

  async channelCreated(
    source: ChannelSource,
    peers: readonly Address[],
    parent: ChannelId | undefined,
  ): Promise<void> {
    this.#checkOpen("channelCreated");
    const n = source.params.parts.length;
    if (peers.length !== n) {
      throw new ValidationError(
        `channel ${channelIdHex(source.id)} has ${n} participants but ${peers.length} peers`,
      );
    }
    if (!Number.isInteger(source.idx) || source.idx < 0 || source.idx >= n) {
      throw new ValidationError(
        `own index ${source.idx} out of range for channel ${channelIdHex(source.id)}`,
      );
    }
    if (parent !== undefined && parent.length !== CHANNEL_ID_LENGTH) {
      throw new ValidationError(
        `parent id of channel ${channelIdHex(source.id)} is not ${CHANNEL_ID_LENGTH} bytes`,
      );
    }
    const id = source.id;
    const old = this.#lookup(id);
    const peerBytes = peers.map((p) => p.bytes());
    const record = encodeRecord(
      encodeFixed(source.idx, parent, peerBytes, encodeParams(source.params)),
      source.phase,
      encodeTransaction(source.current),
      encodeTransaction(source.staging),
    );
    // Re-creating a channel replaces its index entries; deletes come first so the puts win.
    const ops: BatchOperation[] = (old ? peerKeysOf(old, id) : []).map((key) => ({ type: "del", key }));
    ops.push({ type: "put", key: channelKey(id), value: record });
    for (const b of peerBytes) ops.push({ type: "put", key: peerKey(b, id), value: new Uint8Array(0) });
    await this.#commit(id, record, ops);
  }

  async staged(source: ChannelSource): Promise<void> {
    this.#checkOpen("staged");
    await this.#update(source.id, { phase: source.phase, staging: encodeTransaction(source.staging) });
  }

  async sigAdded(source: ChannelSource, idx: number): Promise<void> {
    this.#checkOpen("sigAdded");
    this.#existing(source.id);
    const n = source.params.parts.length;
    if (!Number.isInteger(idx) || idx < 0 || idx >= n) {
      throw new ValidationError(`signature index ${idx} out of range for channel ${channelIdHex(source.id)}`);
    }
    // The whole staging transaction: the new signature is stored together with the state it signs.
    await this.#update(source.id, { staging: encodeTransaction(source.staging) });
  }

  async enabled(source: ChannelSource): Promise<void> {
    this.#checkOpen("enabled");
    await this.#update(source.id, {
      phase: source.phase,
      current: encodeTransaction(source.current),
      staging: encodeTransaction(source.staging),
    });
  }

  async phaseChanged(source: ChannelSource): Promise<void> {
    this.#checkOpen("phaseChanged");
    await this.#update(source.id, { phase: source.phase });
  }

  /** Deletes the channel record (parent link included) and its peer index entries in one batch. */
  async channelRemoved(id: ChannelId): Promise<void> {
    this.#checkOpen("channelRemoved");
    const old = this.#existing(id);
    const ops: BatchOperation[] = [{ type: "del", key: channelKey(id) }];
    for (const key of peerKeysOf(old, id)) ops.push({ type: "del", key });
    await this.#commit(id, null, ops);
  }

  /**
   * Writes everything still queued, then closes the database. Idempotent. Later calls reject
   * with `PersisterClosedError`.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#queue.drain();
      try {
        await this.#db.close();
      } catch (e) {
        throw new PersistenceError(`closing LevelDB at ${this.location} failed: ${describe(e)}`, {
          cause: e,
        });
      }
    })();
    return this.#closing;
  }

  // -------------------------------------------------------------------------------- Restorer

  /** Every address with at least one persisted channel (the own address included). */
  async activePeers(): Promise<Address[]> {
    this.#checkOpen("activePeers");
    const out: Address[] = [];
    await this.#io("activePeers", async () => {
      const it = this.#db.keys(PEER_RANGE);
      try {
        for (;;) {
          const key = await it.next();
          if (key === undefined) break;
          const parsed = parsePeerKey(key);
          if (!parsed) throw new PersistenceCorruptError(keyHex(key), "malformed peer index key");
          out.push(this.#decodeAddress(parsed.address, key));
          // Skip the rest of this address's entries.
          it.seek(peerRange(parsed.address).lt);
        }
      } finally {
        await it.close();
      }
    });
    return out;
  }

  /**
   * Every channel persisted with `peer` among its peers, read from one consistent snapshot.
   * Throws `PersistenceCorruptError` while iterating if an entry or record is damaged.
   */
  async *restorePeer(peer: Address): AsyncIterable<PersistedChannel> {
    this.#checkOpen("restorePeer");
    const address = peer.bytes();
    const snapshot = this.#db.snapshot();
    try {
      const ids = await this.#io("restorePeer", async () => {
        const found: ChannelId[] = [];
        for await (const key of this.#db.keys({ ...peerRange(address), snapshot })) {
          const parsed = parsePeerKey(key);
          if (!parsed) throw new PersistenceCorruptError(keyHex(key), "malformed peer index key");
          found.push(parsed.id);
        }
        return found;
      });
      for (const id of ids) {
        this.#checkOpen("restorePeer");
        const key = channelKey(id);
        const bytes = await this.#io("restorePeer", () => this.#db.get(key, { snapshot }));
        if (bytes === undefined) {
          throw new PersistenceCorruptError(
            keyHex(peerKey(address, id)),
            "peer index entry of a missing channel",
          );
        }
        const channel = this.#decode(bytes, id);
        if (!channel.peers.some((p) => p.equals(peer))) {
          throw new PersistenceCorruptError(
            keyHex(peerKey(address, id)),
            "indexed peer is not among the channel's peers",
          );
        }
        yield channel;
      }
    } finally {
      await snapshot.close().catch(() => {});
    }
  }

  async restoreChannel(id: ChannelId): Promise<PersistedChannel> {
    this.#checkOpen("restoreChannel");
    const bytes = await this.#io("restoreChannel", () => this.#db.get(channelKey(id)));
    if (bytes === undefined) throw new UnknownChannelError(channelIdHex(id));
    return this.#decode(bytes, id);
  }

  /**
   * Every persisted channel in id order (from one snapshot): what a client needs to restore all
   * channels and order parents before children.
   */
  async *restoreAll(): AsyncIterable<PersistedChannel> {
    this.#checkOpen("restoreAll");
    const it = this.#db.iterator(CHANNEL_RANGE);
    try {
      for (;;) {
        const entry = await this.#io("restoreAll", () => it.next());
        if (entry === undefined) return;
        const [key, value] = entry;
        const id = channelIdOfKey(key);
        if (!id) throw new PersistenceCorruptError(keyHex(key), "malformed channel key");
        yield this.#decode(value, id);
      }
    } finally {
      await it.close().catch(() => {});
    }
  }

  /**
   * Reads the whole database from one snapshot and checks it: every record decodes, every record's
   * peers have index entries and every index entry belongs to a record listing that peer. Throws
   * `PersistenceCorruptError` at the first problem.
   */
  async verifyIntegrity(): Promise<IntegrityReport> {
    this.#checkOpen("verifyIntegrity");
    const snapshot = this.#db.snapshot();
    try {
      return await this.#io("verifyIntegrity", async () => {
        const expected = new Set<string>();
        let channels = 0;
        for await (const [key, value] of this.#db.iterator({ ...CHANNEL_RANGE, snapshot })) {
          const id = channelIdOfKey(key);
          if (!id) throw new PersistenceCorruptError(keyHex(key), "malformed channel key");
          const c = this.#decode(value, id);
          for (const p of c.peers) expected.add(keyHex(peerKey(p.bytes(), id)));
          channels++;
        }
        let peerEntries = 0;
        for await (const key of this.#db.keys({ ...PEER_RANGE, snapshot })) {
          const hex = keyHex(key);
          if (!expected.delete(hex)) {
            throw new PersistenceCorruptError(hex, "peer index entry without a channel that lists this peer");
          }
          peerEntries++;
        }
        const [missing] = expected;
        if (missing !== undefined) throw new PersistenceCorruptError(missing, "peer index entry missing");
        return { channels, peerEntries };
      });
    } finally {
      await snapshot.close().catch(() => {});
    }
  }

  // -------------------------------------------------------------------------------- internals

  #checkOpen(operation: string): void {
    if (this.#closed) throw new PersisterClosedError(operation);
  }

  /** The record of `id` as this instance last wrote it, else as stored; undefined if absent. */
  #lookup(id: ChannelId, hex = channelIdHex(id)): Uint8Array | undefined {
    const cached = this.#cache.get(hex);
    if (cached !== undefined) return cached ?? undefined;
    const key = channelKey(id);
    let bytes: Uint8Array | undefined;
    try {
      // Synchronous on purpose: nothing can be queued for this channel between read and use.
      bytes = this.#db.getSync(key);
    } catch (e) {
      throw new PersistenceError(`reading channel ${hex} failed: ${describe(e)}`, { cause: e });
    }
    if (bytes === undefined) return undefined;
    // A plain copy (LevelDB hands out Buffers), checked once: later transitions re-parse it.
    const record = new Uint8Array(bytes);
    try {
      parseRecord(record, true);
    } catch (e) {
      throw corrupt(key, e);
    }
    this.#cache.set(hex, record);
    return record;
  }

  #existing(id: ChannelId, hex = channelIdHex(id)): Uint8Array {
    const r = this.#lookup(id, hex);
    if (r === undefined) throw new UnknownChannelError(hex);
    return r;
  }

  /** Rewrites the record of `id` with the sections in `change`, keeping the others byte for byte. */
  #update(
    id: ChannelId,
    change: { readonly phase?: number; readonly current?: Uint8Array; readonly staging?: Uint8Array },
  ): Promise<void> {
    const hex = channelIdHex(id);
    const old = parseRecord(this.#existing(id, hex), true);
    const record = encodeRecord(
      old.fixed,
      change.phase ?? old.phase,
      change.current ?? old.current,
      change.staging ?? old.staging,
    );
    return this.#commit(id, record, [{ type: "put", key: channelKey(id), value: record }], hex);
  }

  /** Caches `record` (null = removed) and queues `ops`; on failure the cache entry is dropped. */
  async #commit(
    id: ChannelId,
    record: Uint8Array | null,
    ops: BatchOperation[],
    hex = channelIdHex(id),
  ): Promise<void> {
    this.#cache.set(hex, record);
    try {
      await this.#queue.submit(ops);
    } catch (e) {
      // Storage may or may not hold the batch: forget the cached bytes so they are re-read.
      if (this.#cache.get(hex) === record) this.#cache.delete(hex);
      if (this.#closed && !(e instanceof PerunError)) throw new PersisterClosedError("write");
      throw new PersistenceError(`writing channel ${hex} failed: ${describe(e)}`, { cause: e });
    }
    // A written removal needs no tombstone: storage now answers "absent" itself.
    if (record === null && this.#cache.get(hex) === null) this.#cache.delete(hex);
  }

  #decode(bytes: Uint8Array, id: ChannelId): PersistedChannel {
    try {
      return decodeRecord(bytes, id, this.#ctx);
    } catch (e) {
      throw corrupt(channelKey(id), e);
    }
  }

  #decodeAddress(bytes: Uint8Array, key: Uint8Array): Address {
    try {
      return this.#ctx.backend.decodeAddress(bytes);
    } catch (e) {
      throw corrupt(key, e);
    }
  }

  /** Runs a LevelDB read; storage failures become `PersistenceError` (closed: `PersisterClosedError`). */
  async #io<T>(operation: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof PerunError) throw e;
      if (this.#closed) throw new PersisterClosedError(operation);
      throw new PersistenceError(`${operation} failed: ${describe(e)}`, { cause: e });
    }
  }
}

/** The peer index keys of a (valid, cached) record of channel `id`. */
function peerKeysOf(record: Uint8Array, id: ChannelId): Uint8Array[] {
  return parseRecord(record, true).peers.map((p) => peerKey(p, id));
}

function corrupt(key: Uint8Array, e: unknown): PersistenceCorruptError {
  if (e instanceof PersistenceCorruptError) return e;
  const reason =
    e instanceof RecordFormatError || e instanceof DecodeError ? e.reason : `cannot decode: ${describe(e)}`;
  return new PersistenceCorruptError(keyHex(key), reason, { cause: e });
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const cause = e.cause instanceof Error ? ` (${e.cause.message})` : "";
    return `${typeof code === "string" ? `${code}: ` : ""}${e.message}${cause}`;
  }
  return String(e);
}

/** Writes the schema key into an empty database, or checks the one stored. */
async function checkSchema(db: Db): Promise<void> {
  const stored = await db.get(SCHEMA_KEY);
  if (stored === undefined) {
    const [anyKey] = await db.keys({ limit: 1 }).all();
    if (anyKey !== undefined) {
      throw new PersistenceCorruptError(
        keyHex(SCHEMA_KEY),
        "the database holds data but no schema version (not a perun-ts persistence database?)",
      );
    }
    await db.put(SCHEMA_KEY, encodeSchemaVersion(SCHEMA_VERSION), { sync: true });
    return;
  }
  const version = decodeSchemaVersion(stored);
  if (version === undefined) {
    throw new PersistenceCorruptError(keyHex(SCHEMA_KEY), `schema version is ${stored.length} bytes, not 4`);
  }
  if (version > SCHEMA_VERSION) throw new SchemaVersionError(version, SCHEMA_VERSION);
  if (version < 1) throw new PersistenceCorruptError(keyHex(SCHEMA_KEY), `invalid schema version ${version}`);
}
