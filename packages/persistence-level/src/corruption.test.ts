// Damaged or foreign data must surface as a typed error naming the key and the reason — never a
// crash, a wrong channel or a silent skip.
import { PerunError } from "@perun-ts/core";
import { ClassicLevel } from "classic-level";
import { afterEach, describe, expect, it } from "vitest";
import { type Fixture, makeFixture, peerOf, TestChannel } from "./channel-fixture.test-helper.js";
import { PersistenceCorruptError, PersistenceError, SchemaVersionError } from "./errors.js";
import {
  channelKey,
  encodeSchemaVersion,
  keyHex,
  peerKey,
  peerPrefix,
  SCHEMA_KEY,
  SCHEMA_VERSION,
} from "./keys.js";
import { LevelPersistRestorer } from "./level-persist-restorer.js";
import { tempDir } from "./temp-dir.test-helper.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Raw = ClassicLevel<Uint8Array, Uint8Array>;

/** A closed database at a temp path holding two open channels with `peer 0`. */
async function populated(): Promise<{ f: Fixture; path: string; a: TestChannel; b: TestChannel }> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const f = makeFixture();
  const pr = await LevelPersistRestorer.open(dir.path, { ...f.ctx });
  const a = new TestChannel(f, peerOf(f, 0), 1n);
  const b = new TestChannel(f, peerOf(f, 0), 2n);
  for (const c of [a, b]) {
    await c.created(pr);
    await c.open(pr);
  }
  await pr.close();
  return { f, path: dir.path, a, b };
}

async function raw<T>(path: string, f: (db: Raw) => Promise<T>): Promise<T> {
  const db: Raw = new ClassicLevel(path, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  try {
    return await f(db);
  } finally {
    await db.close();
  }
}

async function open(path: string, f: Fixture): Promise<LevelPersistRestorer> {
  const pr = await LevelPersistRestorer.open(path, { ...f.ctx });
  cleanups.push(() => pr.close());
  return pr;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function corruptError(p: Promise<unknown>): Promise<PersistenceCorruptError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PersistenceCorruptError);
  expect(e).toBeInstanceOf(PerunError);
  return e as PersistenceCorruptError;
}

describe("corrupt records", () => {
  it("a garbage value: every read path and the next write reject with PersistenceCorruptError", async () => {
    const { f, path, a, b } = await populated();
    await raw(path, (db) => db.put(channelKey(a.id), Uint8Array.of(0xde, 0xad, 0xbe, 0xef)));
    const pr = await open(path, f);
    const e = await corruptError(pr.restoreChannel(a.id));
    expect(e.key).toBe(keyHex(channelKey(a.id)));
    expect(e.reason).toMatch(/unknown record format/);
    await corruptError(collect(pr.restorePeer(f.own.address)));
    await corruptError(collect(pr.restoreAll()));
    await corruptError(pr.verifyIntegrity());
    await corruptError(pr.phaseChanged(a.machine.source()));
    // the intact channel is unaffected
    expect((await pr.restoreChannel(b.id)).phase).toBe(b.machine.phase);
  });

  it("a record truncated at any length rejects with PersistenceCorruptError", async () => {
    const { f, path, a } = await populated();
    const full = (await raw(path, (db) => db.get(channelKey(a.id)))) as Uint8Array;
    expect(full.length).toBeGreaterThan(100);
    const lengths = [0, 1, 3, 5, 40, full.length >> 1, full.length - 5, full.length - 1];
    for (const len of lengths) {
      await raw(path, (db) => db.put(channelKey(a.id), full.slice(0, len)));
      const pr = await LevelPersistRestorer.open(path, { ...f.ctx });
      try {
        const e = await corruptError(pr.restoreChannel(a.id));
        expect(e.reason, `length ${len}`).toMatch(/truncated|decode|transaction|params|msgpack|bytes/i);
      } finally {
        await pr.close();
      }
    }
  });

  it("trailing bytes, a foreign channel's record and a bad phase are reported with their reason", async () => {
    const { f, path, a, b } = await populated();
    const rec = (await raw(path, (db) => db.get(channelKey(a.id)))) as Uint8Array;
    const cases: [Uint8Array, RegExp][] = [
      [Uint8Array.of(...rec, 0), /trailing bytes/],
      [(await raw(path, (db) => db.get(channelKey(b.id)))) as Uint8Array, /another channel id/],
    ];
    for (const [value, reason] of cases) {
      await raw(path, (db) => db.put(channelKey(a.id), value));
      const pr = await LevelPersistRestorer.open(path, { ...f.ctx });
      try {
        expect((await corruptError(pr.restoreChannel(a.id))).reason).toMatch(reason);
      } finally {
        await pr.close();
      }
    }
  });

  it("index entries of a missing channel or with a malformed key are corrupt, not skipped", async () => {
    const { f, path, a } = await populated();
    const peer = peerOf(f, 0).address.bytes();
    await raw(path, (db) => db.del(channelKey(a.id)));
    let pr = await open(path, f);
    const e = await corruptError(collect(pr.restorePeer(peerOf(f, 0).address)));
    expect(e.key).toBe(keyHex(peerKey(peer, a.id)));
    expect(e.reason).toMatch(/missing channel/);
    await corruptError(pr.verifyIntegrity());
    await pr.close();

    await raw(path, async (db) => {
      await db.put(channelKey(a.id), new Uint8Array(0));
      await db.put(Uint8Array.of(...peerPrefix(peer), 1, 2, 3), new Uint8Array(0));
    });
    pr = await open(path, f);
    expect((await corruptError(pr.activePeers())).reason).toMatch(/malformed peer index key/);
  });

  it("an index entry whose address the backend cannot decode is corrupt", async () => {
    const { f, path, a } = await populated();
    await raw(path, (db) => db.put(peerKey(Uint8Array.of(1, 2, 3), a.id), new Uint8Array(0)));
    const pr = await open(path, f);
    await corruptError(pr.activePeers());
  });
});

describe("schema version", () => {
  it("a new database gets the current version; reopening accepts it", async () => {
    const { f, path } = await populated();
    const stored = await raw(path, (db) => db.get(SCHEMA_KEY));
    expect(stored && new Uint8Array(stored)).toEqual(encodeSchemaVersion(SCHEMA_VERSION));
    await open(path, f);
  });

  it("a newer schema is refused with SchemaVersionError and the database is left closed", async () => {
    const { f, path } = await populated();
    await raw(path, (db) => db.put(SCHEMA_KEY, encodeSchemaVersion(SCHEMA_VERSION + 1)));
    const e = await LevelPersistRestorer.open(path, { ...f.ctx }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SchemaVersionError);
    expect((e as SchemaVersionError).found).toBe(SCHEMA_VERSION + 1);
    expect((e as SchemaVersionError).supported).toBe(SCHEMA_VERSION);
    // released its lock: the directory can be opened again
    const stored = await raw(path, (db) => db.get(SCHEMA_KEY));
    expect(stored && new Uint8Array(stored)).toEqual(encodeSchemaVersion(SCHEMA_VERSION + 1));
  });

  it("a malformed version value, a zero version and data without a version are corrupt", async () => {
    for (const mutate of [
      (db: Raw) => db.put(SCHEMA_KEY, Uint8Array.of(1)),
      (db: Raw) => db.put(SCHEMA_KEY, encodeSchemaVersion(0)),
      (db: Raw) => db.del(SCHEMA_KEY),
    ]) {
      const { f, path } = await populated();
      await raw(path, mutate);
      const e = await corruptError(LevelPersistRestorer.open(path, { ...f.ctx }));
      expect(e.key).toBe(keyHex(SCHEMA_KEY));
    }
  });

  it("a database locked by another handle is a PersistenceError with the cause", async () => {
    const { f, path } = await populated();
    await open(path, f);
    const e = await LevelPersistRestorer.open(path, { ...f.ctx }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(PersistenceError);
    expect((e as Error).message).toMatch(/cannot open LevelDB/);
    expect((e as Error).cause).toBeDefined();
  });
});
