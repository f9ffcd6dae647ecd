// A SimLedger shared by several processes: the ledger lives in the parent; children hold a proxy
// Funder/Adjudicator that forwards fund and withdraw calls over the IPC channel (JSON, bytes as
// hex). Only the calls a cooperative settlement needs are forwarded.
import type { SimLedger } from "@perun-ts/backend-sim";
import {
  type Account,
  type Adjudicator,
  type DecodeContext,
  decodeParams,
  decodeState,
  decodeTransaction,
  encodeParams,
  encodeState,
  encodeTransaction,
  type Funder,
  fromHex,
  PerunError,
  toHex,
  type Watcher,
} from "@perun-ts/core";

/** A ledger call from a child. */
export type LedgerCall =
  | {
      readonly type: "fund";
      readonly rid: number;
      readonly params: string;
      readonly state: string;
      readonly idx: number;
      readonly agreement: string[][];
    }
  | {
      readonly type: "withdraw";
      readonly rid: number;
      readonly params: string;
      readonly tx: string;
      readonly idx: number;
      readonly secondary: boolean;
    };

/** The parent's answer to a ledger call. */
export interface LedgerAnswer {
  readonly type: "ledger-answer";
  readonly rid: number;
  readonly error?: string;
}

/** Whether an IPC message is a ledger call. */
export function isLedgerCall(m: unknown): m is LedgerCall {
  const t = (m as { type?: unknown } | null)?.type;
  return t === "fund" || t === "withdraw";
}

/** Child side: a funder and an adjudicator that ask the parent; `answer` must be fed every `ledger-answer`. */
export function ledgerProxy(send: (m: LedgerCall) => void): {
  funder: Funder;
  adjudicator: Adjudicator;
  answer: (m: LedgerAnswer) => void;
} {
  let rid = 0;
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  type Call = LedgerCall extends infer C ? (C extends LedgerCall ? Omit<C, "rid"> : never) : never;
  const ask = (m: Call) =>
    new Promise<void>((resolve, reject) => {
      const id = ++rid;
      pending.set(id, { resolve, reject });
      send({ ...m, rid: id } as LedgerCall);
    });
  const notForwarded = async (): Promise<never> => {
    throw new PerunError("this process's ledger proxy forwards only funding and withdrawal");
  };
  return {
    funder: {
      fund: (req) =>
        ask({
          type: "fund",
          params: toHex(encodeParams(req.params)),
          state: toHex(encodeState(req.state)),
          idx: req.idx,
          agreement: req.agreement.map((r) => r.map(String)),
        }),
    },
    adjudicator: {
      register: notForwarded,
      progress: notForwarded,
      subscribe: notForwarded,
      withdraw: (req) =>
        ask({
          type: "withdraw",
          params: toHex(encodeParams(req.params)),
          tx: toHex(encodeTransaction(req.tx)),
          idx: req.idx,
          secondary: req.secondary,
        }),
    },
    answer: (m) => {
      const p = pending.get(m.rid);
      pending.delete(m.rid);
      if (m.error !== undefined) p?.reject(new PerunError(m.error));
      else p?.resolve();
    },
  };
}

/** A watcher that accepts every channel and reports no chain event (no disputes in these runs). */
export function silentWatcher(): Watcher {
  return {
    startWatchingLedgerChannel: async () => ({ publish: async () => undefined, events: quiet() }),
    startWatchingSubChannel: async () => ({ publish: async () => undefined, events: quiet() }),
    stopWatching: async () => undefined,
  };
}

async function* quiet(): AsyncGenerator<never> {
  // Ends at once: a subscriber loop finishes instead of waiting forever.
}

/**
 * Parent side: runs a child's ledger call on `ledger`; `account` is the child's participant
 * account (a withdrawal request carries it). Resolves with the answer to send back.
 */
export async function serveLedgerCall(
  ledger: SimLedger,
  ctx: DecodeContext,
  account: Account,
  m: LedgerCall,
): Promise<LedgerAnswer> {
  try {
    const params = decodeParams(fromHex(m.params), ctx);
    if (m.type === "fund") {
      await ledger.funder().fund(
        {
          params,
          state: decodeState(fromHex(m.state), ctx),
          idx: m.idx,
          agreement: m.agreement.map((r) => r.map(BigInt)),
        },
        { signal: AbortSignal.timeout(60_000) },
      );
    } else {
      const tx = decodeTransaction(fromHex(m.tx), ctx, params.parts.length);
      await ledger
        .adjudicator()
        .withdraw({ params, account, tx, idx: m.idx, secondary: m.secondary }, new Map());
    }
    return { type: "ledger-answer", rid: m.rid };
  } catch (e) {
    return { type: "ledger-answer", rid: m.rid, error: String(e) };
  }
}
