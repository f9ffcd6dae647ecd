import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type { CommandName, ParentMessage, WorkerCommands, WorkerMessage } from "./worker-protocol.js";

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

/** The orchestrator's end of one node process: typed calls and deposit relaying. */
export class WorkerHandle {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #peers: WorkerHandle[] = [];

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#child = child;
    child.on("message", (msg: WorkerMessage) => this.#onMessage(msg));
    this.#exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        const err = new Error(`node process ${name} exited (code ${code}, signal ${signal})`);
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
        resolve();
      });
    });
  }

  /** Forks `dist/node-worker.js`; `profileDir` turns on V8 CPU profiling of the process. */
  static spawn(name: string, opts: { readonly profileDir?: string | undefined } = {}): WorkerHandle {
    const execArgv = ["--expose-gc"];
    if (opts.profileDir)
      execArgv.push(
        "--cpu-prof",
        `--cpu-prof-dir=${opts.profileDir}`,
        `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`,
      );
    const child = fork(join(import.meta.dirname, "node-worker.js"), [], {
      execArgv,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    return new WorkerHandle(name, child);
  }

  /** Deposits made in this process are replayed in `peers`. */
  relayDepositsTo(peers: readonly WorkerHandle[]): void {
    this.#peers = [...peers];
  }

  call<K extends CommandName>(cmd: K, args: WorkerCommands[K]["args"]): Promise<WorkerCommands[K]["result"]> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const msg: ParentMessage = { kind: "call", id, cmd, args };
      this.#child.send(msg, (err) => {
        if (err) {
          this.#pending.delete(id);
          reject(new Error(`${this.name}: cannot send ${cmd}: ${err.message}`));
        }
      });
    });
  }

  #onMessage(msg: WorkerMessage): void {
    if (msg.kind === "deposit") {
      const fwd: ParentMessage = { kind: "deposit", deposit: msg.deposit };
      for (const p of this.#peers) p.#child.send(fwd);
      return;
    }
    const p = this.#pending.get(msg.id);
    if (!p) return;
    this.#pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`${this.name}: ${msg.error}`));
  }

  /** Shuts the node down cleanly (if it still answers) and waits for the process to exit. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.connected) {
      await this.call("shutdown", null).catch(() => {});
      this.#child.disconnect();
    }
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
