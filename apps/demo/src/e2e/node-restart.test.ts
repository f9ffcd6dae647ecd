import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../demo/free-port.js";
import { type RunningLedger, startSimLedger } from "../ledger-rpc/start-ledger.js";
import { CliProcess, party, requireBuiltCli, runCli } from "./cli-process.test-helper.js";

/**
 * A node restores its channels from its data directory: one node is stopped (SIGTERM) and the
 * other killed (SIGKILL) mid-channel; each restarts with the same data directory, shows the
 * channel, keeps paying and closes cooperatively with the right final balances.
 */
describe("perun node: restart with the same data directory restores the channel", () => {
  let ledger: RunningLedger;
  const dir = mkdtempSync(join(tmpdir(), "perun-restart-test-"));
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

  it("survives SIGTERM of one node and SIGKILL of the other; pays and closes afterwards", async () => {
    const alice = party();
    const bob = party();
    const [pa, pb] = [await freePort(), await freePort()];
    const aliceDir = join(dir, "alice");
    const bobDir = join(dir, "bob");
    const common = ["--ledger", `127.0.0.1:${ledger.port}`, "--challenge-duration", "30"];
    const start = (who: "alice" | "bob"): CliProcess => {
      const me = who === "alice" ? alice : bob;
      const [peerName, peer, myPort, peerPort] =
        who === "alice" ? ["bob", bob, pa, pb] : ["alice", alice, pb, pa];
      const p = new CliProcess([
        "node",
        "--name",
        who,
        "--key",
        me.key,
        "--listen",
        `127.0.0.1:${myPort}`,
        "--data-dir",
        who === "alice" ? aliceDir : bobDir,
        "--peer",
        `${peerName}=${peer.address}@127.0.0.1:${peerPort}`,
        ...common,
      ]);
      procs.push(p);
      return p;
    };

    let A = start("alice");
    let B = start("bob");
    await A.waitFor(/alice 0x[0-9a-f]{40} listening on/);
    await B.waitFor(/bob 0x[0-9a-f]{40} listening on/);
    A.type("open bob 2 1");
    const [, id] = await A.waitFor(/channel open: (0x[0-9a-f]{64}) with bob, mine 2 ETH, theirs 1 ETH/);
    A.type("pay bob 0.25");
    await A.waitFor(/paid bob 0\.25 ETH .*mine 1\.75 ETH, theirs 1\.25 ETH/);
    await B.waitFor(/received 0\.25 ETH from alice \(my balance 1\.25 ETH\)/);

    // Bob is stopped gracefully and comes back: the channel is restored and in sync with Alice.
    B.kill("SIGTERM");
    expect(await B.exited).toBe(0);
    B = start("bob");
    await B.waitFor(
      /restored channel 0x[0-9a-f]{8}… with alice {2}Acting {2}v1 {2}mine 1\.25 ETH {2}theirs 1\.75 ETH \(sync with alice: in-sync\)/,
    );
    await B.waitFor(/bob 0x[0-9a-f]{40} listening on/);
    const bobChannels = await runCli(["channels", "--data-dir", bobDir]);
    expect(bobChannels.code).toBe(0);
    expect(bobChannels.stdout).toContain(`${id}  alice  Acting  v1  mine 1.25 ETH  theirs 1.75 ETH`);
    const bobBalance = await runCli(["balance", "--data-dir", bobDir]);
    expect(bobBalance.stdout.trim()).toBe("on-chain 99 ETH, in 1 channel(s) 1.25 ETH");

    // The restored node pays and is paid.
    const bobPays = await runCli(["pay", "alice", "0.05", "--data-dir", bobDir]);
    expect(bobPays.code).toBe(0);
    expect(bobPays.stdout).toMatch(/paid alice 0\.05 ETH .*mine 1\.2 ETH, theirs 1\.8 ETH/);
    await A.waitFor(/received 0\.05 ETH from bob \(my balance 1\.8 ETH\)/);
    A.type("pay bob 0.5");
    await A.waitFor(/paid bob 0\.5 ETH .*mine 1\.3 ETH, theirs 1\.7 ETH/);
    await B.waitFor(/received 0\.5 ETH from alice \(my balance 1\.7 ETH\)/);

    // Alice is killed without a chance to clean up; her database still has version 3.
    A.kill("SIGKILL");
    expect(await A.exited).toBeNull();
    A = start("alice");
    await A.waitFor(
      /restored channel 0x[0-9a-f]{8}… with bob {2}Acting {2}v3 {2}mine 1\.3 ETH {2}theirs 1\.7 ETH \(sync with bob: in-sync\)/,
    );
    await A.waitFor(/alice 0x[0-9a-f]{40} listening on/);
    // The control socket the killed node left behind is replaced.
    const aliceChannels = await runCli(["channels", "--data-dir", aliceDir]);
    expect(aliceChannels.stdout).toContain(`${id}  bob  Acting  v3  mine 1.3 ETH  theirs 1.7 ETH`);
    A.type("balance");
    await A.waitFor(/on-chain 98 ETH, in 1 channel\(s\) 1\.3 ETH/);

    A.type("pay bob 0.3");
    await A.waitFor(/paid bob 0\.3 ETH .*mine 1 ETH, theirs 2 ETH/);
    await B.waitFor(/received 0\.3 ETH from alice \(my balance 2 ETH\)/);
    A.type("close bob");
    await A.waitFor(/channel with bob settled \(cooperative\): withdrew 1 ETH, on-chain balance 99 ETH/);
    await B.waitFor(/channel with alice settled \(cooperative\): withdrew 2 ETH, on-chain balance 101 ETH/);

    // Withdrawn channels leave the database: a further restart restores nothing.
    A.type("exit");
    expect(await A.exited).toBe(0);
    A = start("alice");
    await A.waitFor(/alice 0x[0-9a-f]{40} listening on/);
    A.type("channels");
    await A.waitFor(/no open channels/);
    expect(A.output).not.toMatch(/restored channel/);
    A.type("exit");
    expect(await A.exited).toBe(0);
    B.child.stdin?.end();
    expect(await B.exited).toBe(0);
  });
});
