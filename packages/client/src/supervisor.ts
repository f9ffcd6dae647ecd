import type { Logger } from "@perun-ts/core";

/**
 * Keeps every background task the client starts (request handling, event relays), so that none is
 * a floating promise: a task's failure is logged, and `drain` waits for all of them on close.
 */
export class TaskSupervisor {
  readonly #tasks = new Set<Promise<void>>();

  constructor(readonly logger: Logger) {}

  /** Runs `task` in the background; its rejection is logged with `what`, never unhandled. */
  spawn(what: string, task: () => Promise<unknown>): void {
    const p: Promise<void> = Promise.resolve()
      .then(task)
      .then(
        () => undefined,
        (err: unknown) => {
          this.logger.warn(`${what} failed`, { error: err instanceof Error ? err.message : String(err) });
        },
      )
      .finally(() => this.#tasks.delete(p));
    this.#tasks.add(p);
  }

  /** Number of running tasks. */
  get size(): number {
    return this.#tasks.size;
  }

  /** Resolves once every task (including those spawned meanwhile) has ended. */
  async drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
  }
}
