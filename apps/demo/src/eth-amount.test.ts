import { describe, expect, it } from "vitest";
import { UsageError } from "./errors.js";
import { formatEth, formatEthRounded, parseEth, parsePositiveEth } from "./eth-amount.js";

describe("ETH amounts", () => {
  it("parses decimal ETH into wei with 18 decimals", () => {
    expect(parseEth("1")).toBe(10n ** 18n);
    expect(parseEth("0.001")).toBe(10n ** 15n);
    expect(parseEth("1.5")).toBe(15n * 10n ** 17n);
    expect(parseEth("0.000000000000000001")).toBe(1n);
    expect(parseEth(" 2 ")).toBe(2n * 10n ** 18n);
  });

  it("formats wei as ETH with every significant decimal", () => {
    expect(formatEth(15n * 10n ** 17n)).toBe("1.5 ETH");
    expect(formatEth(1n)).toBe("0.000000000000000001 ETH");
    expect(formatEth(0n)).toBe("0 ETH");
    expect(formatEth(-(10n ** 18n))).toBe("-1 ETH");
    expect(formatEth(12_345n * 10n ** 15n)).toBe("12.345 ETH");
  });

  it("round-trips", () => {
    for (const s of ["0", "1", "0.1", "123.456789", "99999.000000000000000001"]) {
      expect(formatEth(parseEth(s), "")).toBe(s);
    }
  });

  it.each([
    ["-1", "is not a number"],
    ["1e3", "is not a number"],
    ["abc", "is not a number"],
    ["", "is not a number"],
    ["1.", "is not a number"],
    [".5", "is not a number"],
    ["0x10", "is not a number"],
    ["1.0000000000000000001", "more than 18 decimals"],
  ])("rejects %j with a one-line UsageError (%s)", (text, reason) => {
    let err: unknown;
    try {
      parseEth(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(reason);
    expect((err as Error).message).not.toContain("\n");
  });

  it("rejects a zero payment", () => {
    expect(() => parsePositiveEth("0.0")).toThrow(/greater than 0/);
  });
});

describe("formatEthRounded", () => {
  it("rounds to 6 decimals and marks rounded values", () => {
    expect(formatEthRounded(99_949_813_438_665_066_437n)).toBe("≈ 99.949813 ETH");
    expect(formatEthRounded(99_949_813_538_665_066_437n)).toBe("≈ 99.949814 ETH");
    expect(formatEthRounded(10n ** 18n)).toBe("1 ETH");
    expect(formatEthRounded(427_646_471_723_464n)).toBe("≈ 0.000428 ETH");
  });
});
