import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { anvilBinaryPath, type ModuleResolver, startAnvil } from "./anvil.js";
import { EthChain } from "./chain.js";
import { AnvilNotInstalledError } from "./errors.js";

describe("startAnvil", () => {
  it("starts on a free port, answers JSON-RPC, and stops", async () => {
    const a = await startAnvil({ chainId: 4242 });
    const b = await startAnvil();
    try {
      expect(a.port).not.toBe(b.port);
      const chain = new EthChain({ client: a.rpcUrl, confirmations: 1 });
      expect(await chain.chainId()).toBe(4242);
      expect((await chain.head()).number).toBe(0n);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await a.stop(); // idempotent
    }
  });

  it("fails with AnvilNotInstalledError naming @foundry-rs/anvil when the package cannot be resolved", async () => {
    const asked: string[] = [];
    const missing: ModuleResolver = (specifier) => {
      asked.push(specifier);
      throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: "MODULE_NOT_FOUND" });
    };
    const err = await startAnvil({ resolveModule: missing }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AnvilNotInstalledError);
    expect((err as AnvilNotInstalledError).packageName).toBe("@foundry-rs/anvil");
    expect((err as Error).message).toContain("@foundry-rs/anvil");
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(asked).toContain("@foundry-rs/anvil/package.json");
    // the real resolver finds the installed binary (what the other tests run)
    expect(anvilBinaryPath()).toMatch(/anvil(\.exe)?$/);
  });

  it("leaves no orphan when its parent process dies without cleanup", async () => {
    // a stand-in parent that is SIGKILLed (no exit handlers run); the watchdog must stop anvil
    const parent = spawn("sleep", ["60"], { stdio: "ignore" });
    const a = await startAnvil({ parentPid: parent.pid as number });
    const chain = new EthChain({ client: a.rpcUrl, confirmations: 1 });
    expect((await chain.head()).number).toBe(0n);
    parent.kill("SIGKILL");
    let down = false;
    for (let i = 0; i < 100 && !down; i++) {
      await new Promise((r) => setTimeout(r, 50));
      down = await chain.head().then(
        () => false,
        () => true,
      );
    }
    expect(down).toBe(true);
    await a.stop();
  });
});
