import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { startAnvil } from "./anvil.js";
import { EthChain } from "./chain.js";

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
