// Starts a private anvil node for one test file (one per vitest worker) on a free port.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";

const require = createRequire(import.meta.url);

/** Path of the anvil binary shipped in the `@foundry-rs/anvil-linux-amd64` package. */
export function anvilBinary(): string {
  const wrapper = createRequire(require.resolve("@foundry-rs/anvil/package.json"));
  const platform = `${process.platform === "win32" ? "win32" : process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  return wrapper.resolve(`@foundry-rs/anvil-${platform}/bin/${exe}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("no port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export interface Anvil {
  readonly rpcUrl: string;
  stop(): Promise<void>;
}

/** Spawns anvil (hardfork Prague, auto-mining) and waits until it answers JSON-RPC. */
export async function startAnvil(): Promise<Anvil> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(anvilBinary(), ["--port", String(port), "--hardfork", "prague", "--silent"], {
      stdio: "ignore",
    });
    const rpcUrl = `http://127.0.0.1:${port}`;
    try {
      await waitReady(rpcUrl, child);
      return { rpcUrl, stop: () => stop(child) };
    } catch (err) {
      await stop(child);
      if (attempt >= 2) throw err;
    }
  }
}

async function waitReady(rpcUrl: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}`);
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
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("anvil did not start within 10 s");
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
