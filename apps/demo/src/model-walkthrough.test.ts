import { describe, expect, it } from "vitest";
import { runModelWalkthrough } from "./model-walkthrough.js";

describe("model walkthrough", () => {
  it("ends in a final state whose balances reflect every payment", async () => {
    const lines: string[] = [];
    const balances = await runModelWalkthrough({ payments: 4, print: (l) => lines.push(l) });
    // Alice pays 1 and 3, Bob pays 2 and 4: Alice +2, Bob −2.
    expect(balances).toEqual([102n, 98n]);
    expect(lines.some((l) => l.includes("(final)"))).toBe(true);
  });
});
