import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { ChainNotReachableError } from "@perun-ts/core";
import { AnvilNotInstalledError } from "./errors.js";

/** The mnemonic of anvil's default accounts (10 accounts with 10,000 ETH each). Test use only. */
export const ANVIL_DEFAULT_MNEMONIC = "test test test test test test test test test test test junk";

/** Options of {@link startAnvil}. */
export interface AnvilOptions {
  /** Path of the anvil binary; default: the one in `@foundry-rs/anvil-<platform>` (via `@foundry-rs/anvil`). */
  readonly binary?: string;
  /** Chain id; default anvil's 31337. */
  readonly chainId?: number;
  /** Seconds between blocks; default: mine one block per transaction. */
  readonly blockTime?: number;
  /** EVM hardfork; default `prague`. */
  readonly hardfork?: string;
  /** Mnemonic of the funded accounts; default {@link ANVIL_DEFAULT_MNEMONIC}. */
  readonly mnemonic?: string;
  /** Number of funded accounts; default 10. */
  readonly accounts?: number;
  /** Further command-line arguments. */
  readonly args?: readonly string[];
  /** How long to wait for the node to answer; default 10,000 ms. */
  readonly startTimeoutMs?: number;
  /** The process whose death also stops anvil; default this process. */
  readonly parentPid?: number;
  /**
   * Resolves a module specifier to a file path, like `require.resolve` (the default, relative to
   * this package). Injectable so that a missing `@foundry-rs/anvil` can be simulated in tests.
   */
  readonly resolveModule?: ModuleResolver;
}

/** `require.resolve`-like: a module specifier (and optional base file) → absolute path; throws if absent. */
export type ModuleResolver = (specifier: string, fromFile?: string) => string;

const defaultResolver: ModuleResolver = (specifier, fromFile) =>
  createRequire(fromFile ?? import.meta.url).resolve(specifier);

/** A running anvil node. */
export interface AnvilInstance {
  readonly rpcUrl: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly chainId: number;
  /** Stops the node (idempotent); resolves when the process has exited. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Path of the anvil binary shipped in the `@foundry-rs/anvil-<platform>` registry package. Throws
 * {@link AnvilNotInstalledError} if `@foundry-rs/anvil` (an optional peer dependency) is missing.
 */
export function anvilBinaryPath(resolve: ModuleResolver = defaultResolver): string {
  const platform = `${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  const name = `@foundry-rs/anvil-${platform}/bin/${exe}`;
  try {
    return resolve(name);
  } catch {
    // pnpm keeps the platform package next to the wrapper, not at the top level
    try {
      return resolve(name, resolve("@foundry-rs/anvil/package.json"));
    } catch (cause) {
      throw new AnvilNotInstalledError({ cause });
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not allocate a port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * Spawns a private anvil node on a free port and resolves once it answers JSON-RPC (~0.1 s). Needs
 * the optional peer dependency `@foundry-rs/anvil` (else {@link AnvilNotInstalledError}). The
 * node is killed by `stop()`, when this process exits, and — through a small watchdog — when this
 * process dies without running exit handlers, so a crashed test run leaves no orphan.
 *
 * @example
 * ```ts
 * const anvil = await startAnvil();
 * try { ... anvil.rpcUrl ... } finally { await anvil.stop(); }
 * ```
 */
export async function startAnvil(opts: AnvilOptions = {}): Promise<AnvilInstance> {
  const binary = opts.binary ?? anvilBinaryPath(opts.resolveModule);
  const chainId = opts.chainId ?? 31337;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--chain-id",
      String(chainId),
      "--hardfork",
      opts.hardfork ?? "prague",
      "--mnemonic",
      opts.mnemonic ?? ANVIL_DEFAULT_MNEMONIC,
      "--accounts",
      String(opts.accounts ?? 10),
      "--silent",
      ...(opts.blockTime === undefined ? [] : ["--block-time", String(opts.blockTime)]),
      ...(opts.args ?? []),
    ];
    const child = spawn(binary, args, { stdio: "ignore" });
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    const watchdog = startWatchdog(child, opts.parentPid ?? process.pid);
    const cleanup = () => {
      process.removeListener("exit", killOnExit);
      watchdog?.kill("SIGKILL");
    };
    const rpcUrl = `http://127.0.0.1:${port}`;
    try {
      await waitReady(rpcUrl, child, opts.startTimeoutMs ?? 10_000);
    } catch (err) {
      lastError = err;
      await stopChild(child);
      cleanup();
      continue;
    }
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= stopChild(child).finally(cleanup);
      return stopped;
    };
    return { rpcUrl, wsUrl: `ws://127.0.0.1:${port}`, port, chainId, stop, [Symbol.asyncDispose]: stop };
  }
  throw new ChainNotReachableError("anvil did not start", { cause: lastError });
}

// A shell loop that kills anvil once this process is gone (SIGKILL skips exit handlers).
function startWatchdog(child: ChildProcess, parentPid: number): ChildProcess | undefined {
  if (process.platform === "win32" || child.pid === undefined) return undefined;
  const script = `while kill -0 ${parentPid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; kill -9 ${child.pid} 2>/dev/null`;
  const w = spawn("/bin/sh", ["-c", script], { stdio: "ignore", detached: true });
  w.on("error", () => undefined);
  w.unref();
  return w;
}

async function waitReady(rpcUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let spawnError: unknown;
  child.once("error", (e) => {
    spawnError = e;
  });
  while (Date.now() < deadline) {
    if (spawnError !== undefined) throw spawnError;
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}`);
    try {
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`anvil did not answer within ${timeoutMs} ms`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 2_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
