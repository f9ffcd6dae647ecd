import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../demo/free-port.js";
import { type RunningLedger, startSimLedger } from "../ledger-rpc/start-ledger.js";
import { CliProcess, party, requireBuiltCli, runCli } from "./cli-process.test-helper.js";

describe("perun node: prompt and one-shot commands (two processes over TCP)", () => {
  let ledger: RunningLedger;
  const dir = mkdtempSync(join(tmpdir(), "perun-cli-test-"));
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    requireBuiltCli();
    ledger = await startSimLedger({ host: "127.0.0.1", port: 0, initialBalance: 100n * 10n ** 18n });
  });
  afterAll(async () => {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens, pays (one-shot), shows balances, closes; bad input gives one-line errors", async () => {
    const alice = party();
    const bob = party();
    const [pa, pb] = [await freePort(), await freePort()];
    const common = ["--ledger", `127.0.0.1:${ledger.port}`, "--challenge-duration", "30"];
    const aliceDir = join(dir, "alice");
    const A = new CliProcess([
      "node",
      "--name",
      "alice",
      "--key",
      alice.key,
      "--listen",
      `127.0.0.1:${pa}`,
      "--data-dir",
      aliceDir,
      "--peer",
      `bob=${bob.address}@127.0.0.1:${pb}`,
      ...common,
    ]);
    const B = new CliProcess([
      "node",
      "--name",
      "bob",
      "--key",
      bob.key,
      "--listen",
      `127.0.0.1:${pb}`,
      "--data-dir",
      join(dir, "bob"),
      "--peer",
      `alice=${alice.address}@127.0.0.1:${pa}`,
      ...common,
    ]);
    procs.push(A, B);
    await A.waitFor(/alice 0x[0-9a-f]{40} listening on 127\.0\.0\.1:\d+/);
    await B.waitFor(/bob 0x[0-9a-f]{40} listening on/);

    A.type("open bob 2 1");
    await A.waitFor(/channel open: 0x[0-9a-f]{64} with bob, mine 2 ETH, theirs 1 ETH/);
    await B.waitFor(/alice proposes a channel \(alice deposits 2 ETH, I deposit 1 ETH\): accepted/);

    const paid = await runCli(["pay", "bob", "0.25", "--data-dir", aliceDir]);
    expect(paid.code).toBe(0);
    expect(paid.stdout).toMatch(/paid bob 0\.25 ETH .*mine 1\.75 ETH, theirs 1\.25 ETH/);
    await B.waitFor(/received 0\.25 ETH from alice \(my balance 1\.25 ETH\)/);

    const unknown = await runCli(["pay", "mallory", "1", "--data-dir", aliceDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout.trim()).toBe(
      'error: unknown peer "mallory" (known peers are listed in the config\'s "peers")',
    );

    const tooMuch = await runCli(["pay", "bob", "5", "--data-dir", aliceDir]);
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stdout.trim()).toBe("error: insufficient channel balance: have 1.75 ETH, paying 5 ETH");

    A.type("pay bob 1.2.3");
    await A.waitFor(/error: amount "1\.2\.3" is not a number of ETH/);

    A.type("balance");
    await A.waitFor(/on-chain 98 ETH, in 1 channel\(s\) 1\.75 ETH/);

    A.type("close bob");
    await A.waitFor(
      /channel with bob settled \(cooperative\): withdrew 1\.75 ETH, on-chain balance 99\.75 ETH/,
    );
    await B.waitFor(
      /channel with alice settled \(cooperative\): withdrew 1\.25 ETH, on-chain balance 100\.25 ETH/,
    );

    A.type("exit");
    expect(await A.exited).toBe(0);
    const gone = await runCli(["balance", "--data-dir", aliceDir]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/^perun: no node is running with data directory .*\n$/);

    B.child.stdin?.end();
    expect(await B.exited).toBe(0);
  });

  it("rejects malformed node flags with exit code 2 and one line", async () => {
    const r1 = await runCli(["node", "--bogus"]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/^perun: Unknown option '--bogus'.*\n$/);
    const r2 = await runCli(["node", "--key", "0x1234", "--ledger", "127.0.0.1:1"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toBe("perun: key must be 32 bytes, got 2\n");
    const r3 = await runCli(["node", "--config", join(dir, "nope.json")]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/^perun: cannot read config .*nope\.json: ENOENT\n$/);
  });
});
