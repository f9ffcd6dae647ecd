import type { SignerChoice } from "./signer.js";

/** Every benchmark, in the order a full run executes them. */
export const BENCHMARKS = ["crypto", "update-seq", "update-par", "open", "scale", "gas"] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

/** A command line that cannot be run; `main` prints the message and the usage. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** What the command line asks for. */
export interface BenchArgs {
  readonly benchmarks: readonly BenchmarkName[];
  readonly signer: SignerChoice;
  readonly quick: boolean;
  /** Where the JSON results go; undefined: the default `results/latest.json`. */
  readonly out: string | undefined;
  /** Directory for V8 CPU profiles of the node processes (`--cpu-prof`); undefined: no profiles. */
  readonly profileDir: string | undefined;
  /** False with `--no-fsync`: a diagnostic run without durable writes (not the benchmark of record). */
  readonly durable: boolean;
  readonly help: boolean;
}

export const USAGE = `usage: pnpm bench [benchmark ...] [--signer noble|native] [--quick] [--out file.json] [--profile dir]

benchmarks: ${BENCHMARKS.join(", ")} (default: all)
  --signer   secp256k1 implementation (default noble; native falls back to noble with a warning)
  --quick    small sizes (seconds, for the smoke test); figures are not comparable
  --out      where to write the JSON results (default apps/bench/results/latest.json)
  --profile  write a CPU profile of every node process into dir (node --cpu-prof)
  --no-fsync diagnostic: LevelDB writes without fsync (shows what durability costs)`;

function isBenchmark(s: string): s is BenchmarkName {
  return (BENCHMARKS as readonly string[]).includes(s);
}

/** Parses `argv` (without node and script); throws `UsageError` for anything it does not know. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const picked = new Set<BenchmarkName>();
  let signer: SignerChoice = "noble";
  let quick = false;
  let out: string | undefined;
  let profileDir: string | undefined;
  let help = false;
  let durable = true;
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? a.split("=", 2) : [a, undefined];
    const take = (): string => inline ?? value(++i, flag as string);
    switch (flag) {
      case "--signer": {
        const s = take();
        if (s !== "noble" && s !== "native")
          throw new UsageError(`--signer must be noble or native, got "${s}"`);
        signer = s;
        break;
      }
      case "--quick":
        quick = true;
        break;
      case "--out":
        out = take();
        break;
      case "--profile":
        profileDir = take();
        break;
      case "--no-fsync":
        durable = false;
        break;
      case "--help":
      case "-h":
        help = true;
        break;
      default:
        if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
        if (!isBenchmark(a)) throw new UsageError(`unknown benchmark "${a}"`);
        picked.add(a);
    }
  }
  const benchmarks = picked.size === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => picked.has(b));
  return { benchmarks, signer, quick, out, profileDir, durable, help };
}
