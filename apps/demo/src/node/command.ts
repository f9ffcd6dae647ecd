import { UnknownPeerError, UsageError } from "../errors.js";
import { parseEth, parsePositiveEth } from "../eth-amount.js";

/** A command typed at the prompt (or sent by a one-shot `perun <command>`), validated. */
export type Command =
  | {
      readonly kind: "open";
      readonly peer: string;
      readonly myDeposit: bigint;
      readonly theirDeposit: bigint;
    }
  | { readonly kind: "pay"; readonly peer: string; readonly amount: bigint; readonly count: number }
  | { readonly kind: "balance" }
  | { readonly kind: "channels" }
  | { readonly kind: "close"; readonly peer: string }
  | { readonly kind: "dispute"; readonly peer: string }
  | { readonly kind: "cheat"; readonly peer: string }
  | { readonly kind: "help" }
  | { readonly kind: "exit" };

/** Most payments one `pay` command may make. */
export const MAX_PAY_COUNT = 1_000_000;

export const COMMAND_HELP = [
  "open <peer> <my-deposit> <their-deposit>   open a channel (amounts in ETH)",
  "pay <peer> <amount> [count]                pay off-chain (count times)",
  "balance                                    on-chain balance and channel balances",
  "channels                                   list the open channels",
  "close <peer>                               close cooperatively and withdraw",
  "dispute <peer>                             settle through the adjudicator (no peer needed)",
  "cheat <peer>                               demo only: register the channel's opening state on chain",
  "help                                       this list",
  "exit                                       stop the node",
];

const ARITY: Record<string, [number, number, string]> = {
  open: [3, 3, "open <peer> <my-deposit> <their-deposit>"],
  pay: [2, 3, "pay <peer> <amount> [count]"],
  balance: [0, 0, "balance"],
  channels: [0, 0, "channels"],
  close: [1, 1, "close <peer>"],
  dispute: [1, 1, "dispute <peer>"],
  cheat: [1, 1, "cheat <peer>"],
  help: [0, 0, "help"],
  exit: [0, 0, "exit"],
};

/**
 * Parses one command line. `knownPeers` are the configured peer names.
 * @throws UsageError (or UnknownPeerError) with a one-line reason.
 */
export function parseCommand(line: string, knownPeers: readonly string[]): Command | undefined {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((w) => w !== "");
  if (words.length === 0) return undefined;
  const [name, ...args] = words as [string, ...string[]];
  const cmd = name.toLowerCase();
  const arity = ARITY[cmd === "quit" ? "exit" : cmd];
  if (!arity) throw new UsageError(`unknown command "${name}" (type help)`);
  if (args.length < arity[0] || args.length > arity[1]) throw new UsageError(`usage: ${arity[2]}`);
  const peer = (i: number): string => {
    const p = args[i] as string;
    if (!knownPeers.includes(p)) throw new UnknownPeerError(p);
    return p;
  };
  switch (cmd) {
    case "open":
      return {
        kind: "open",
        peer: peer(0),
        myDeposit: parseEth(args[1] as string, "my deposit"),
        theirDeposit: parseEth(args[2] as string, "their deposit"),
      };
    case "pay": {
      const countText = args[2] ?? "1";
      if (!/^\d{1,7}$/.test(countText) || Number(countText) < 1 || Number(countText) > MAX_PAY_COUNT) {
        throw new UsageError(`count "${countText}" must be a whole number from 1 to ${MAX_PAY_COUNT}`);
      }
      return {
        kind: "pay",
        peer: peer(0),
        amount: parsePositiveEth(args[1] as string),
        count: Number(countText),
      };
    }
    case "close":
    case "dispute":
    case "cheat":
      return { kind: cmd, peer: peer(0) };
    case "quit":
      return { kind: "exit" };
    default:
      return { kind: cmd as "balance" | "channels" | "help" | "exit" };
  }
}
