import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { PerunError } from "@perun-ts/core";

/** A node event as it arrives from a node process (JSON; bigints are decimal strings). */
export type EventRecord = Readonly<Record<string, unknown>> & { readonly type: string };

/** A node process failed, answered a command with an error, or did not do something in time. */
export class DemoStepError extends PerunError {}

interface PendingCommand {
  readonly line: string;
  readonly onProgress: ((e: EventRecord) => void) | undefined;
  readonly resolve: (e: EventRecord) => void;
  readonly reject: (e: unknown) => void;
}

interface Waiter {
  readonly pred: (e: EventRecord) => boolean;
  readonly resolve: (e: EventRecord) => void;
}

/**
 * A `perun node --json` child process driven through its prompt: commands are written to its
 * stdin, its JSON events are read from stdout.
 */
export class NodeProcess {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #pending: PendingCommand[] = [];
  readonly #events: EventRecord[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #stderr: string[] = [];
  readonly exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  /** Called with every event that is not a progress report or a command result. */
  onEvent: ((e: EventRecord) => void) | undefined;

  constructor(name: string, script: string, args: readonly string[]) {
    this.name = name;
    this.#child = spawn(process.execPath, [script, "node", ...args, "--json"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out = createInterface({ input: this.#child.stdout as NodeJS.ReadableStream });
    out.on("line", (line) => this.#line(line));
    const err = createInterface({ input: this.#child.stderr as NodeJS.ReadableStream });
    err.on("line", (line) => {
      this.#stderr.push(line);
      if (this.#stderr.length > 20) this.#stderr.shift();
    });
    this.exited = new Promise((resolve) => {
      this.#child.on("exit", (code) => {
        this.#exitCode = code;
        const why = new DemoStepError(`${name}'s node exited (code ${code})${this.#stderrTail()}`);
        for (const p of this.#pending.splice(0)) p.reject(why);
        resolve(code);
      });
    });
    this.#child.on("error", () => {});
    this.#child.stdin?.on("error", () => {});
  }

  #stderrTail(): string {
    const last = this.#stderr.filter((l) => l.trim() !== "").slice(-3);
    return last.length ? `: ${last.join(" | ")}` : "";
  }

  #line(line: string): void {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return; // not an event (e.g. a stray log line)
    }
    if (typeof v !== "object" || v === null || typeof (v as { type?: unknown }).type !== "string") return;
    const e = v as EventRecord;
    if (e.type === "result") {
      const p = this.#pending.shift();
      if (!p) return;
      if (e.ok === true) p.resolve(e);
      else p.reject(new DemoStepError(`${this.name}: "${p.line}" failed: ${String(e.message)}`));
      return;
    }
    if (e.type === "progress") {
      this.#pending[0]?.onProgress?.(e);
      return;
    }
    this.#events.push(e);
    this.onEvent?.(e);
    for (const w of [...this.#waiters]) {
      if (w.pred(e)) {
        this.#waiters.delete(w);
        w.resolve(e);
      }
    }
  }

  /** Types `line` at the node's prompt; resolves with the successful result, rejects otherwise. */
  command(line: string, onProgress?: (e: EventRecord) => void): Promise<EventRecord> {
    if (this.#exitCode !== undefined) {
      return Promise.reject(new DemoStepError(`${this.name}'s node is not running${this.#stderrTail()}`));
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ line, onProgress, resolve, reject });
      this.#child.stdin?.write(`${line}\n`);
    });
  }

  /** Resolves with the first event (past or future) matching `pred`; fails after `timeoutMs`. */
  waitFor(pred: (e: EventRecord) => boolean, what: string, timeoutMs = 30_000): Promise<EventRecord> {
    const seen = this.#events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new DemoStepError(`${this.name}: ${what} did not happen within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const waiter: Waiter = {
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Asks the node to exit and waits for it (killing it after `graceMs`). */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.#exitCode !== undefined) return this.#exitCode;
    this.#child.stdin?.end("exit\n");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process at once. */
  kill(): void {
    if (this.#exitCode === undefined) this.#child.kill("SIGKILL");
  }
}
