import { describe, expect, it } from "vitest";
import { UnknownPeerError, UsageError } from "../errors.js";
import { parseCommand } from "./command.js";

const peers = ["bob", "carol"];
const ETH = 10n ** 18n;

function errorOf(line: string): Error {
  try {
    parseCommand(line, peers);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`"${line}" was accepted`);
}

describe("parseCommand", () => {
  it("parses every command", () => {
    expect(parseCommand("open bob 1.5 2", peers)).toEqual({
      kind: "open",
      peer: "bob",
      myDeposit: 15n * 10n ** 17n,
      theirDeposit: 2n * ETH,
    });
    expect(parseCommand("  pay  carol 0.001 ", peers)).toEqual({
      kind: "pay",
      peer: "carol",
      amount: 10n ** 15n,
      count: 1,
    });
    expect(parseCommand("pay bob 1 1000", peers)).toMatchObject({ count: 1000 });
    expect(parseCommand("balance", peers)).toEqual({ kind: "balance" });
    expect(parseCommand("CHANNELS", peers)).toEqual({ kind: "channels" });
    expect(parseCommand("close bob", peers)).toEqual({ kind: "close", peer: "bob" });
    expect(parseCommand("dispute bob", peers)).toEqual({ kind: "dispute", peer: "bob" });
    expect(parseCommand("exit", peers)).toEqual({ kind: "exit" });
    expect(parseCommand("quit", peers)).toEqual({ kind: "exit" });
    expect(parseCommand("   ", peers)).toBeUndefined();
  });

  it("names an unknown peer", () => {
    const e = errorOf("pay mallory 1");
    expect(e).toBeInstanceOf(UnknownPeerError);
    expect(e.message).toContain('unknown peer "mallory"');
  });

  it.each([
    ["pay bob", "usage: pay <peer> <amount> [count]"],
    ["open bob 1", "usage: open"],
    ["balance now", "usage: balance"],
    ["pay bob -1", "is not a number"],
    ["pay bob 0", "greater than 0"],
    ["pay bob 1 0", "count"],
    ["pay bob 1 1.5", "count"],
    ["open bob 1 x", "their deposit"],
    ["fly bob", 'unknown command "fly"'],
  ])("rejects %j with a one-line reason", (line, reason) => {
    const e = errorOf(line);
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toContain(reason);
    expect(e.message).not.toContain("\n");
  });
});
