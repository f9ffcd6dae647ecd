import { describe, expect, it } from "vitest";
import { BENCHMARKS, parseArgs, UsageError } from "./args.js";

describe("parseArgs", () => {
  it("defaults to every benchmark, noble, full sizes", () => {
    expect(parseArgs([])).toEqual({
      benchmarks: BENCHMARKS,
      signer: "noble",
      quick: false,
      out: undefined,
      profileDir: undefined,
      durable: true,
      help: false,
    });
  });

  it("keeps the canonical order of the picked benchmarks and reads every option", () => {
    const a = parseArgs([
      "gas",
      "update-seq",
      "--signer=native",
      "--quick",
      "--out",
      "x.json",
      "--profile",
      "p",
    ]);
    expect(a.benchmarks).toEqual(["update-seq", "gas"]);
    expect(a).toMatchObject({ signer: "native", quick: true, out: "x.json", profileDir: "p" });
  });

  it.each([
    [["--signer", "fast"], /--signer must be noble or native/],
    [["--signer"], /--signer needs a value/],
    [["--out", "--quick"], /--out needs a value/],
    [["--verbose"], /unknown option --verbose/],
    [["latency"], /unknown benchmark "latency"/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
