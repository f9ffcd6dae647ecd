import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DemoAccount, DemoChain } from "../demo/demo-chain.js";
import { startEthDemoChain } from "../demo/eth-demo-chain.js";
import { freePort } from "../demo/free-port.js";
import { startSimDemoChain } from "../demo/sim-demo-chain.js";
import { CliProcess, requireBuiltCli, runCli } from "./cli-process.test-helper.js";

const ETH = 10n ** 18n;
/** What two transactions (conclude, withdraw) may cost on anvil, generously. */
const GAS_ALLOWANCE = ETH / 100n;

/**
 * A node restores its channels from its data directory: one node is stopped (SIGTERM) and the
 * other killed (SIGKILL) mid-channel; each restarts with the same data directory, shows the
 * channel, keeps paying and closes cooperatively with the right final balances.
 */
describe.each([
  // the offline-peer step is node logic, not chain logic: once (on sim) is enough
  { backend: "sim", start: startSimDemoChain, peerOffline: true },
  { backend: "eth", start: startEthDemoChain, peerOffline: false },
])(
  "perun node on $backend: a restart with the same data directory restores the channel",
  ({ start, peerOffline }) => {
    const dir = mkdtempSync(join(tmpdir(), "perun-restart-test-"));
    const procs: CliProcess[] = [];
    let chain: DemoChain | undefined;

    afterAll(async () => {
      for (const p of procs) p.kill();
      await Promise.all(procs.map((p) => p.exited));
      await chain?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("survives SIGTERM of one node and SIGKILL of the other; pays and closes afterwards", async () => {
      requireBuiltCli();
      chain = await start();
      const c = chain;
      const alice = await c.newAccount(100n * ETH);
      const bob = await c.newAccount(100n * ETH);
      const [pa, pb] = [await freePort(), await freePort()];
      const aliceDir = join(dir, "alice");
      const bobDir = join(dir, "bob");
      const nodeArgs = (who: "alice" | "bob"): string[] => {
        const [me, peerName, peer, myPort, peerPort]: [DemoAccount, string, DemoAccount, number, number] =
          who === "alice" ? [alice, "bob", bob, pa, pb] : [bob, "alice", alice, pb, pa];
        return [
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
          "--challenge-duration",
          "30",
          ...c.nodeArgs(),
        ];
      };
      const node = (who: "alice" | "bob"): CliProcess => {
        const p = new CliProcess(nodeArgs(who));
        procs.push(p);
        return p;
      };

      let A = node("alice");
      let B = node("bob");
      await A.waitFor(/alice 0x[0-9a-f]{40} listening on/);
      await B.waitFor(/bob 0x[0-9a-f]{40} listening on/);
      A.type("open bob 2 1");
      const [, id] = await A.waitFor(
        /channel open: (0x[0-9a-f]{64}) with bob, mine 2 ETH, theirs 1 ETH/,
        30_000,
      );
      A.type("pay bob 0.25");
      await A.waitFor(/paid bob 0\.25 ETH .*mine 1\.75 ETH, theirs 1\.25 ETH/);
      await B.waitFor(/received 0\.25 ETH from alice \(my balance 1\.25 ETH\)/);

      // Bob is stopped gracefully and comes back: the channel is restored and in sync with Alice.
      B.kill("SIGTERM");
      expect(await B.exited).toBe(0);
      B = node("bob");
      await B.waitFor(
        /restored channel 0x[0-9a-f]{8}… with alice {2}Acting {2}v1 {2}mine 1\.25 ETH {2}theirs 1\.75 ETH \(sync with alice: in-sync\)/,
      );
      await B.waitFor(/bob 0x[0-9a-f]{40} listening on/);
      // A second node on the same data directory is refused (the database is locked).
      const twin = await runCli(nodeArgs("bob"));
      expect(twin.code).toBe(2);
      expect(twin.stderr).toMatch(
        /^perun: cannot open the channel database .*bob\/channels \(is another node using this data directory\?\): .+\n$/,
      );
      const bobChannels = await runCli(["channels", "--data-dir", bobDir]);
      expect(bobChannels.code).toBe(0);
      expect(bobChannels.stdout).toContain(`${id}  alice  Acting  v1  mine 1.25 ETH  theirs 1.75 ETH`);
      const bobBalance = await runCli(["balance", "--data-dir", bobDir]);
      expect(bobBalance.stdout.trim()).toMatch(
        c.hasGas
          ? /^on-chain 98\.9\d* ETH, in 1 channel\(s\) 1\.25 ETH$/
          : /^on-chain 99 ETH, in 1 channel\(s\) 1\.25 ETH$/,
      );

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
      A = node("alice");
      await A.waitFor(
        /restored channel 0x[0-9a-f]{8}… with bob {2}Acting {2}v3 {2}mine 1\.3 ETH {2}theirs 1\.7 ETH \(sync with bob: in-sync\)/,
      );
      await A.waitFor(/alice 0x[0-9a-f]{40} listening on/);
      // The control socket the killed node left behind is replaced.
      const aliceChannels = await runCli(["channels", "--data-dir", aliceDir]);
      expect(aliceChannels.stdout).toContain(`${id}  bob  Acting  v3  mine 1.3 ETH  theirs 1.7 ETH`);
      A.type("balance");
      await A.waitFor(/on-chain [\d.]+ ETH, in 1 channel\(s\) 1\.3 ETH/);

      if (peerOffline) {
        // Both go down; Alice comes back first: restored, but her peer does not answer the sync.
        // When Bob returns, his restore syncs with her and the channel works again.
        A.kill("SIGKILL");
        B.kill("SIGKILL");
        expect([await A.exited, await B.exited]).toEqual([null, null]);
        A = node("alice");
        await A.waitFor(
          /restored channel 0x[0-9a-f]{8}… with bob {2}Acting {2}v3 {2}mine 1\.3 ETH {2}theirs 1\.7 ETH \(not synced with bob: .+\)/,
        );
        await A.waitFor(/alice 0x[0-9a-f]{40} listening on/);
        B = node("bob");
        await B.waitFor(
          /restored channel 0x[0-9a-f]{8}… with alice {2}Acting {2}v3 {2}mine 1\.7 ETH {2}theirs 1\.3 ETH \(sync with alice: in-sync\)/,
        );
        await B.waitFor(/bob 0x[0-9a-f]{40} listening on/);
      }

      A.type("pay bob 0.3");
      await A.waitFor(/paid bob 0\.3 ETH .*mine 1 ETH, theirs 2 ETH/);
      await B.waitFor(/received 0\.3 ETH from alice \(my balance 2 ETH\)/);
      A.type("close bob");
      await A.waitFor(/channel with bob settled \(cooperative\): withdrew 1 ETH, on-chain balance/, 30_000);
      await B.waitFor(/channel with alice settled \(cooperative\): withdrew 2 ETH, on-chain balance/, 30_000);
      // Alice deposited 2 and got 1 back, Bob deposited 1 and got 2 back (less gas on Ethereum).
      const [aliceEnd, bobEnd] = [await c.balanceOf(alice.address), await c.balanceOf(bob.address)];
      const slack = c.hasGas ? GAS_ALLOWANCE : 0n;
      expect(aliceEnd).toBeLessThanOrEqual(99n * ETH);
      expect(aliceEnd).toBeGreaterThanOrEqual(99n * ETH - slack);
      expect(bobEnd).toBeLessThanOrEqual(101n * ETH);
      expect(bobEnd).toBeGreaterThanOrEqual(101n * ETH - slack);

      // Withdrawn channels leave the database: a further restart restores nothing.
      A.type("exit");
      expect(await A.exited).toBe(0);
      A = node("alice");
      await A.waitFor(/alice 0x[0-9a-f]{40} listening on/);
      A.type("channels");
      await A.waitFor(/no open channels/);
      expect(A.output).not.toMatch(/restored channel/);
      A.type("exit");
      expect(await A.exited).toBe(0);
      B.child.stdin?.end();
      expect(await B.exited).toBe(0);
    }, 60_000);
  },
);
