import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../demo/free-port.js";
import { type RunningLedger, startSimLedger } from "../ledger-rpc/start-ledger.js";
import { party, requireBuiltCli } from "./cli-process.test-helper.js";
import {
  availablePtyLaunchers,
  PtyCliProcess,
  type PtyLauncher,
  requirePtyLauncher,
  screenText,
} from "./pty-process.test-helper.js";

/** Runs `node -e code` under `launcher`'s pty and returns what the terminal showed. */
function underPty(launcher: PtyLauncher, code: string): Promise<{ code: number | null; screen: string }> {
  const { file, args } = launcher.wrap([process.execPath, "-e", code]);
  const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
  let raw = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    raw += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    raw += d;
  });
  return new Promise((resolve) => child.on("close", (c) => resolve({ code: c, screen: screenText(raw) })));
}

describe("screenText", () => {
  it("strips escapes and applies carriage returns like a terminal", () => {
    expect(
      screenText(
        "a\r\n\u001b[1G\u001b[0Jbob> \u001b[8Gpay\r\r\n\u001b]0;title\u0007x\r[##  ] 50%\r[####] 100%\n",
      ),
    ).toBe("a\nbob> pay\n[####] 100%\n");
  });
});

describe("pty launchers", () => {
  it("at least one exists, and each gives the child a terminal on stdin and stdout", async () => {
    const launchers = availablePtyLaunchers();
    expect(launchers.length, "no `script` and no `python3`: see requirePtyLauncher").toBeGreaterThan(0);
    for (const l of launchers) {
      const r = await underPty(
        l,
        "console.log('tty', process.stdin.isTTY, process.stdout.isTTY); process.exit(3)",
      );
      expect(r.screen, l.kind).toContain("tty true true");
      expect(r.code, `${l.kind} passes the child's exit code on`).toBe(3);
    }
  });

  it("without any launcher on PATH, the test fails with a clear reason", () => {
    expect(() => requirePtyLauncher(join(tmpdir(), "no-such-dir"))).toThrow(
      /needs a pseudo-terminal launcher: neither util-linux `script` .* nor `python3`/,
    );
  });
});

describe("perun node at a real terminal (two nodes, sim ledger, typed commands)", () => {
  let ledger: RunningLedger;
  const dir = mkdtempSync(join(tmpdir(), "perun-pty-test-"));
  const procs: PtyCliProcess[] = [];

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

  it("open, pay both ways, balance, channels, close, exit — with exact final balances", async () => {
    const launcher = requirePtyLauncher();
    const alice = party();
    const bob = party();
    const [pa, pb] = [await freePort(), await freePort()];
    const common = ["--ledger", `127.0.0.1:${ledger.port}`, "--challenge-duration", "30"];
    const node = (name: string, key: string, port: number, peer: string) =>
      new PtyCliProcess(
        launcher,
        [
          "node",
          "--name",
          name,
          "--key",
          key,
          "--listen",
          `127.0.0.1:${port}`,
          "--data-dir",
          join(dir, name),
          "--peer",
          peer,
          ...common,
        ],
        `${name}> `,
      );
    const A = node("alice", alice.key, pa, `bob=${bob.address}@127.0.0.1:${pb}`);
    const B = node("bob", bob.key, pb, `alice=${alice.address}@127.0.0.1:${pa}`);
    procs.push(A, B);
    await A.waitFor(/alice 0x[0-9a-f]{40} listening on 127\.0\.0\.1:\d+/);
    await B.waitFor(/bob 0x[0-9a-f]{40} listening on 127\.0\.0\.1:\d+/);
    // The prompt is shown only when stdin is a terminal: proof that the node sees a tty.
    expect(screenText(A.raw)).toMatch(/^alice> /m);
    expect(screenText(B.raw)).toMatch(/^bob> /m);

    await A.command("open bob 2 1", /channel open: 0x[0-9a-f]{64} with bob, mine 2 ETH, theirs 1 ETH/);
    // In terminal mode readline echoes the keystrokes after the prompt (output() hides that echo).
    expect(screenText(A.raw)).toMatch(/^alice> open bob 2 1$/m);
    await B.waitFor(/alice proposes a channel \(alice deposits 2 ETH, I deposit 1 ETH\): accepted/);

    await A.command("pay bob 0.25", /paid bob 0\.25 ETH in .*; mine 1\.75 ETH, theirs 1\.25 ETH/);
    await B.waitFor(/received 0\.25 ETH from alice \(my balance 1\.25 ETH\)/);
    await B.command("pay alice 0.05", /paid alice 0\.05 ETH in .*; mine 1\.2 ETH, theirs 1\.8 ETH/);
    await A.waitFor(/received 0\.05 ETH from bob \(my balance 1\.8 ETH\)/);

    // Typing mistakes get one readable line and the prompt stays usable.
    await A.command("pay bob 1.2.3", /error: amount "1\.2\.3" is not a number of ETH/);
    await A.command("pya bob 1", /error: unknown command "pya" \(type help\)/);

    await A.command("balance", /on-chain 98 ETH, in 1 channel\(s\) 1\.8 ETH/);
    await B.command("balance", /on-chain 99 ETH, in 1 channel\(s\) 1\.2 ETH/);
    const listed = await A.command(
      "channels",
      /(0x[0-9a-f]{64}) {2}bob {2}(\w+) {2}v(\d+) {2}mine 1\.8 ETH {2}theirs 1\.2 ETH/,
    );
    expect(listed[3]).toBe("2"); // two updates after the opening state
    await B.command(
      "channels",
      new RegExp(`${listed[1]} {2}alice {2}${listed[2]} {2}v2 {2}mine 1\\.2 ETH {2}theirs 1\\.8 ETH`),
    );

    await A.command(
      "close bob",
      /channel with bob settled \(cooperative\): withdrew 1\.8 ETH, on-chain balance 99\.8 ETH/,
    );
    await B.waitFor(
      /channel with alice settled \(cooperative\): withdrew 1\.2 ETH, on-chain balance 100\.2 ETH/,
    );
    await A.command("channels", /no open channels/);
    await B.command("balance", /on-chain 100\.2 ETH, in 0 channel\(s\) 0 ETH/);
    await A.command("balance", /on-chain 99\.8 ETH, in 0 channel\(s\) 0 ETH/);

    await A.command("exit", /bye/);
    await B.command("exit", /bye/);
    expect(await A.exited).toBe(0);
    expect(await B.exited).toBe(0);
  }, 30_000);
});
