import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { CLI } from "./cli-process.test-helper.js";

/**
 * How to give a child process a real pseudo-terminal without native modules: util-linux
 * `script` (Debian's essential bsdutils) or, failing that, Python's `pty.spawn`.
 */
export interface PtyLauncher {
  readonly kind: "script" | "python3";
  /** The command that runs `argv` under a fresh pty, relaying its output to our stdout pipe. */
  wrap(argv: readonly string[]): { file: string; args: string[] };
}

/** Single-quotes `s` for /bin/sh (script -c runs its command through a shell). */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const scriptLauncher: PtyLauncher = {
  kind: "script",
  // -q: no start/done banner; -f: flush at once; -e: exit with the child's code; -c: the command.
  wrap: (argv) => ({ file: "script", args: ["-qfec", argv.map(shellQuote).join(" "), "/dev/null"] }),
};

const PY_SPAWN = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))";

const pythonLauncher: PtyLauncher = {
  kind: "python3",
  wrap: (argv) => ({ file: "python3", args: ["-c", PY_SPAWN, ...argv] }),
};

function works(file: string, args: readonly string[], path: string | undefined): boolean {
  const r = spawnSync(file, args, { encoding: "utf8", env: { ...process.env, PATH: path ?? "" } });
  return r.error === undefined && r.status === 0;
}

/**
 * The pty launchers usable on this machine, `script` first. `path` is the PATH to search (tests
 * pass a bogus one to check the failure).
 */
export function availablePtyLaunchers(path = process.env.PATH): PtyLauncher[] {
  const found: PtyLauncher[] = [];
  // util-linux `script` knows --version; BSD/macOS `script` has no -c and does not.
  if (works("script", ["--version"], path)) found.push(scriptLauncher);
  if (works("python3", ["-c", "import pty, os; os.waitstatus_to_exitcode"], path)) found.push(pythonLauncher);
  return found;
}

/**
 * The first usable launcher (or the one named by PERUN_TEST_PTY=script|python3, to exercise the
 * fallback); throws a clear error if there is none (the pty test must not skip).
 */
export function requirePtyLauncher(path = process.env.PATH): PtyLauncher {
  const wanted = process.env.PERUN_TEST_PTY;
  const first = availablePtyLaunchers(path).find((l) => wanted === undefined || l.kind === wanted);
  if (!first) {
    throw new Error(
      "the pty end-to-end test needs a pseudo-terminal launcher: neither util-linux `script` " +
        "(Debian package bsdutils) nor `python3` with the pty module was found on PATH",
    );
  }
  return first;
}

const ESC = String.fromCharCode(0x1b);
const BEL = String.fromCharCode(0x07);
// OSC (window title …), CSI (cursor moves, erase, colours) and the remaining two-byte escapes.
const TERMINAL_ESCAPES = new RegExp(
  `${ESC}\\][^${BEL}${ESC}]*(?:${BEL}|${ESC}\\\\)|${ESC}\\[[0-?]*[ -/]*[@-~]|${ESC}[@-Z\\\\-_]`,
  "g",
);

/** Removes terminal control sequences (CSI, OSC and two-byte escapes). */
export function stripAnsi(s: string): string {
  return s.replace(TERMINAL_ESCAPES, "");
}

/**
 * What a terminal would show, as plain lines: escapes stripped, `\r\n` as `\n`, and a bare `\r`
 * (return to the line start) overwriting what came before it on that line.
 */
export function screenText(raw: string): string {
  return stripAnsi(raw)
    .split("\n")
    .map((line) => {
      const parts = line.replace(/\r+$/, "").split("\r");
      return parts[parts.length - 1] ?? "";
    })
    .join("\n");
}

/** A `perun` CLI process under a real pty: we type keystrokes and read what its terminal shows. */
export class PtyCliProcess {
  readonly child: ChildProcess;
  /** Everything the terminal received, escapes included. */
  raw = "";
  readonly exited: Promise<number | null>;
  readonly #typed: string[] = [];

  constructor(
    launcher: PtyLauncher,
    args: readonly string[],
    readonly prompt: string,
  ) {
    const { file, args: wrapped } = launcher.wrap([process.execPath, CLI, ...args]);
    // A common terminal type, so readline redraws its line with escape sequences as it would for a
    // person (output() strips them).
    this.child = spawn(file, wrapped, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, TERM: "xterm-256color" },
    });
    const append = (d: string) => {
      this.raw += d;
    };
    this.child.stdout?.setEncoding("utf8").on("data", append);
    this.child.stderr?.setEncoding("utf8").on("data", append);
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  /**
   * The screen without the readline echo of what we typed: a line that is one of our commands
   * (after the prompt, or alone when an event displaced the prompt) is dropped, and a leading
   * prompt is removed from other lines.
   */
  get output(): string {
    return screenText(this.raw)
      .split("\n")
      .filter((line) => !this.#typed.some((t) => line === `${this.prompt}${t}` || line === t))
      .map((line) => (line.startsWith(this.prompt) ? line.slice(this.prompt.length) : line))
      .join("\n");
  }

  /** Types `line` and presses Enter (a terminal sends CR). */
  type(line: string): void {
    this.#typed.push(line);
    this.child.stdin?.write(`${line}\r`);
  }

  /** Waits until the output (from `from` on) matches `re`; returns the match. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(from).match(re);
      if (m) return m;
      if (Date.now() > until) {
        throw new Error(
          `timed out waiting for ${re}; screen so far:\n${this.output}\nraw:\n${JSON.stringify(this.raw)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Types a command and waits for its answer, which must come after what was on screen before. */
  async command(line: string, answer: RegExp): Promise<RegExpMatchArray> {
    const from = this.output.length;
    this.type(line);
    return this.waitFor(answer, from);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}
