import { PerunError } from "@perun-ts/core";

/** Bad user input (a flag, a config file, a command): printed as one line, exit code 2. */
export class UsageError extends PerunError {
  constructor(
    readonly reason: string,
    opts: { details?: Record<string, unknown> } = {},
  ) {
    super(reason, opts);
  }
}

/** A peer name that is not in the node's configuration. */
export class UnknownPeerError extends UsageError {
  constructor(readonly peer: string) {
    super(`unknown peer "${peer}" (known peers are listed in the config's "peers")`, { details: { peer } });
  }
}

/** The sim ledger server answered with an error, or could not be reached. */
export class LedgerRpcError extends PerunError {}

/**
 * One readable line for any error: its message, plus the causes' messages when they add something
 * (e.g. "funding of channel … failed: insufficient balance").
 */
export function errorLine(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && depth < 4; depth++) {
    const msg = cur instanceof Error ? cur.message : String(cur);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(": ").replace(/\s*\n\s*/g, " ") || "unknown error";
}
