/**
 * Collects unhandled promise rejections and uncaught exceptions while a test runs, so that an
 * adversarial test can assert that hostile input never produced one (a rejection the client failed
 * to handle is a crash in production).
 */
export class RejectionMonitor {
  readonly #seen: unknown[] = [];
  readonly #onRejection = (reason: unknown): void => {
    this.#seen.push(reason);
  };
  #installed = false;

  /** Starts listening on the process (idempotent). */
  install(): this {
    if (!this.#installed) {
      process.on("unhandledRejection", this.#onRejection);
      process.on("uncaughtException", this.#onRejection);
      this.#installed = true;
    }
    return this;
  }

  /** Stops listening (idempotent). */
  uninstall(): void {
    if (!this.#installed) return;
    process.off("unhandledRejection", this.#onRejection);
    process.off("uncaughtException", this.#onRejection);
    this.#installed = false;
  }

  /** Everything seen so far. */
  get seen(): readonly unknown[] {
    return this.#seen;
  }

  /**
   * Lets pending rejections surface (Node reports them after the microtask queue drained), then
   * throws if any was seen.
   */
  async check(where: string): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.#seen.length > 0) {
      const first = this.#seen[0];
      const text = first instanceof Error ? (first.stack ?? first.message) : String(first);
      throw new Error(`${this.#seen.length} unhandled rejection(s) ${where}; first: ${text}`);
    }
  }
}
