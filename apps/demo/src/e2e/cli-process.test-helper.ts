import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SimAccount } from "@perun-ts/backend-sim";
import { toHex } from "@perun-ts/core";

/** The built CLI; the process tests run it as users do (`pnpm test` builds first). */
export const CLI = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -b\` in apps/demo first`);
}

/** Runs the CLI to completion. */
export function runCliSync(args: readonly string[], timeoutMs = 30_000) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI asynchronously (other processes of the test keep running meanwhile). */
export function runCli(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** A long-running CLI process whose stdin we type into and whose output we wait for. */
export class CliProcess {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      this.output += d;
    });
    this.child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      this.output += d;
    });
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  type(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** Waits until the output (from `from` on) matches `re`; returns the match. */
  async waitFor(re: RegExp, timeoutMs = 20_000, from = 0): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(from).match(re);
      if (m) return m;
      if (Date.now() > until) throw new Error(`timed out waiting for ${re}; output so far:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** A fresh key and its address (derived the same way the node does). */
export function party(): { key: string; address: string } {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const acc = SimAccount.fromSecretKey(key);
  return { key: `0x${toHex(key)}`, address: acc.address.toString() };
}
