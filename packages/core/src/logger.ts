/** Structured, levelled logging; injected, silent by default. */
export interface Logger {
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  info(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  /** A logger that adds `fields` to every entry. */
  child(fields: Readonly<Record<string, unknown>>): Logger;
}

/** Discards everything; the default. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
  child(): Logger {
    return silentLogger;
  },
});

export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger writing one JSON line per entry at or above `level` to `write` (stderr by default). */
export function jsonLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  fields: Readonly<Record<string, unknown>> = {},
): Logger {
  const min = LEVELS[level];
  const emit = (lvl: LogLevel, msg: string, extra?: Readonly<Record<string, unknown>>) => {
    if (LEVELS[lvl] < min) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields, ...extra }, (_k, v) =>
        typeof v === "bigint"
          ? v.toString()
          : v instanceof Uint8Array
            ? `0x${Buffer.from(v).toString("hex")}`
            : v,
      ),
    );
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (f) => jsonLogger(level, write, { ...fields, ...f }),
  };
}
