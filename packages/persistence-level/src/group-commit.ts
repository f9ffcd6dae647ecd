// Group commit: every write call becomes a list of batch operations; calls issued in the same
// macrotask, or while an earlier batch is being written, are merged into one LevelDB batch (one
// fsync in durable mode). Batches are written one at a time in submission order, so per-key
// (and therefore per-channel) order is preserved; each caller's promise settles when the batch
// that holds its operations has been written.

/** One LevelDB batch operation on binary keys and values. */
export type BatchOperation =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array };

/** Reported after each batch written to LevelDB (for metrics and tests). */
export interface BatchInfo {
  /** Persister calls merged into this batch. */
  readonly calls: number;
  /** LevelDB operations in the batch. */
  readonly operations: number;
  /** True if the batch was written with `sync: true` (fsync before it resolved). */
  readonly sync: boolean;
}

/** Writes one atomic batch. */
export type BatchWriter = (ops: BatchOperation[], sync: boolean) => Promise<void>;

interface Submission {
  readonly ops: readonly BatchOperation[];
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export interface GroupCommitOptions {
  readonly sync: boolean;
  /** Merge concurrent calls into one batch (default true); if false, each call is its own batch. */
  readonly merge: boolean;
  readonly onBatch?: ((info: BatchInfo) => void) | undefined;
}

/** The write path of the persister; see the file comment. */
export class GroupCommitQueue {
  readonly #write: BatchWriter;
  readonly #opts: GroupCommitOptions;
  #pending: Submission[] = [];
  /** True while the batch loop runs; `#running` is its promise. */
  #active = false;
  #running: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setImmediate> | undefined;
  readonly #unmerged = new Set<Promise<void>>();

  constructor(write: BatchWriter, opts: GroupCommitOptions) {
    this.#write = write;
    this.#opts = opts;
  }

  /** Queues `ops`; resolves once they are written as part of one atomic batch. */
  submit(ops: readonly BatchOperation[]): Promise<void> {
    if (!this.#opts.merge) return this.#submitAlone(ops);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ ops, resolve, reject });
      // Wait for the rest of this macrotask's calls unless a batch is in flight already: the
      // loop picks everything up when that batch is done.
      if (!this.#active && this.#timer === undefined) {
        this.#timer = setImmediate(() => {
          this.#timer = undefined;
          this.#start();
        });
      }
    });
  }

  /** Writes everything queued now and waits until no write is in flight; never rejects. */
  async drain(): Promise<void> {
    if (this.#timer !== undefined) {
      clearImmediate(this.#timer);
      this.#timer = undefined;
      this.#start();
    }
    while (this.#active) await this.#running;
    await Promise.allSettled([...this.#unmerged]);
  }

  #start(): void {
    if (this.#active || this.#pending.length === 0) return;
    this.#active = true;
    this.#running = this.#loop();
  }

  async #loop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const group = this.#pending;
        this.#pending = [];
        const ops = group.flatMap((s) => s.ops);
        try {
          await this.#write(ops, this.#opts.sync);
        } catch (e) {
          for (const s of group) s.reject(e);
          continue;
        }
        this.#report(group.length, ops.length);
        for (const s of group) s.resolve();
      }
    } finally {
      // Cleared in the same synchronous step that saw the queue empty: a call submitted after
      // this point schedules a new batch itself, so none can be stranded.
      this.#active = false;
    }
  }

  #report(calls: number, operations: number): void {
    try {
      this.#opts.onBatch?.({ calls, operations, sync: this.#opts.sync });
    } catch {
      // A metrics hook must not fail a write that is already durable (documented on the option).
    }
  }

  #submitAlone(ops: readonly BatchOperation[]): Promise<void> {
    const p = this.#write([...ops], this.#opts.sync).then(() => this.#report(1, ops.length));
    const tracked = p.finally(() => this.#unmerged.delete(tracked));
    // The caller observes `p`; the tracked copy only feeds drain(), which ignores its outcome.
    tracked.catch(() => {});
    this.#unmerged.add(tracked);
    return p;
  }
}
