import { formatEth } from "../eth-amount.js";

/** One channel as listed by `channels` and in results. */
export interface ChannelSummary {
  readonly id: string;
  readonly peer: string;
  readonly phase: string;
  readonly version: bigint;
  readonly mine: bigint;
  readonly theirs: bigint;
}

/** Something the node reports: asynchronous happenings and command results. */
export type NodeEvent =
  | {
      readonly type: "ready";
      readonly name: string;
      readonly address: string;
      readonly listen: string;
      readonly chain: string;
    }
  | {
      readonly type: "proposal";
      readonly peer: string;
      readonly theirDeposit: bigint;
      readonly myDeposit: bigint;
      readonly accepted: boolean;
      readonly reason?: string;
    }
  | { readonly type: "opened"; readonly channel: ChannelSummary }
  | {
      /** A channel of an earlier run, restored from the data directory at start-up. */
      readonly type: "restored";
      readonly channel: ChannelSummary;
      /** How the sync with the peer ended ("in-sync", "adopted", …), if it succeeded. */
      readonly sync?: string;
      /** Why syncing or resuming failed (the channel is restored regardless). */
      readonly error?: string;
    }
  | {
      readonly type: "received";
      readonly peer: string;
      readonly count: number;
      readonly total: bigint;
      readonly balance: bigint;
    }
  | { readonly type: "progress"; readonly done: number; readonly total: number }
  | {
      readonly type: "chain";
      readonly peer: string;
      readonly event: string;
      readonly version: bigint;
      readonly latest: bigint;
      readonly timeoutAt?: string;
    }
  | {
      readonly type: "settled";
      readonly peer: string;
      readonly how: "cooperative" | "dispute";
      readonly withdrawn: bigint;
      readonly onChain: bigint;
    }
  | { readonly type: "info"; readonly message: string }
  | { readonly type: "warning"; readonly message: string }
  | {
      readonly type: "result";
      readonly command: string;
      readonly ok: boolean;
      readonly message: string;
      readonly data?: Readonly<Record<string, unknown>>;
    };

function channelLine(c: ChannelSummary): string {
  return `${c.id.slice(0, 10)}… with ${c.peer}  ${c.phase}  v${c.version}  mine ${formatEth(c.mine)}  theirs ${formatEth(c.theirs)}`;
}

/** The human-readable form of an event (one line, or a few for listings). */
export function describeEvent(e: NodeEvent): string {
  switch (e.type) {
    case "ready":
      return `${e.name} ${e.address} listening on ${e.listen}, chain: ${e.chain}`;
    case "proposal":
      return e.accepted
        ? `${e.peer} proposes a channel (${e.peer} deposits ${formatEth(e.theirDeposit)}, I deposit ${formatEth(e.myDeposit)}): accepted`
        : `${e.peer} proposes a channel: rejected (${e.reason ?? "no reason"})`;
    case "opened":
      return `channel open: ${channelLine(e.channel)}`;
    case "restored": {
      const how =
        e.error !== undefined
          ? `not synced with ${e.channel.peer}: ${e.error}`
          : `sync with ${e.channel.peer}: ${e.sync ?? "skipped"}`;
      return `restored channel ${channelLine(e.channel)} (${how})`;
    }
    case "received":
      return e.count === 1
        ? `received ${formatEth(e.total)} from ${e.peer} (my balance ${formatEth(e.balance)})`
        : `received ${e.count} payments, ${formatEth(e.total)} in total, from ${e.peer} (my balance ${formatEth(e.balance)})`;
    case "progress":
      return `paid ${e.done}/${e.total}`;
    case "chain": {
      if (e.event === "registered" && e.version < e.latest) {
        return `on chain: ${e.peer}'s channel registered with the STALE version ${e.version} (latest is ${e.latest}); the watchtower refutes it`;
      }
      if (e.event === "registered") {
        const until = e.timeoutAt === undefined ? "" : `; challenge period ends at chain time ${e.timeoutAt}`;
        return `on chain: channel with ${e.peer} registered at version ${e.version}${until}`;
      }
      return `on chain: channel with ${e.peer} ${e.event} (version ${e.version})`;
    }
    case "settled":
      return `channel with ${e.peer} settled (${e.how}): withdrew ${formatEth(e.withdrawn)}, on-chain balance ${formatEth(e.onChain)}`;
    case "info":
      return e.message;
    case "warning":
      return `warning: ${e.message}`;
    case "result":
      return e.ok ? e.message : `error: ${e.message}`;
  }
}

/** The JSON form (bigints as decimal strings, plus the readable `text`), one line. */
export function eventJson(e: NodeEvent): string {
  const withText = e.type === "progress" ? e : { ...e, text: describeEvent(e) };
  return JSON.stringify(withText, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}
