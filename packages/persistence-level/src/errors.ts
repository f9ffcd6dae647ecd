import { PerunError } from "@perun-ts/core";

/**
 * A storage failure of the LevelDB persister (the database could not be opened, read or written).
 * The underlying LevelDB error is the `cause`. The subclasses name the failures a caller may handle.
 */
export class PersistenceError extends PerunError {}

/**
 * A stored record or key could not be decoded: the database was damaged or written by something
 * else. `key` is the hex of the affected key, `reason` says what is wrong with it.
 */
export class PersistenceCorruptError extends PersistenceError {
  constructor(
    readonly key: string,
    readonly reason: string,
    opts: { cause?: unknown } = {},
  ) {
    super(`corrupt persistence record ${key}: ${reason}`, { details: { key, reason }, ...opts });
  }
}

/**
 * The database was written with a schema this version does not understand (`found` is newer than
 * `supported`), so it is not opened rather than misread.
 */
export class SchemaVersionError extends PersistenceError {
  constructor(
    readonly found: number,
    readonly supported: number,
  ) {
    super(`persistence schema version ${found} is not supported (this version reads up to ${supported})`, {
      details: { found, supported },
    });
  }
}

/** A call was made after `close()`. */
export class PersisterClosedError extends PersistenceError {
  constructor(readonly operation: string) {
    super(`${operation}: the persister is closed`, { details: { operation } });
  }
}
