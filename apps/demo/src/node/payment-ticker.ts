/** Collects incoming payments per peer and reports them at most every `intervalMs` (no flood of lines). */
export class PaymentTicker {
  readonly #pending = new Map<string, { count: number; total: bigint; balance: bigint }>();
  readonly #report: (peer: string, count: number, total: bigint, balance: bigint) => void;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    report: (peer: string, count: number, total: bigint, balance: bigint) => void,
    intervalMs = 250,
  ) {
    this.#report = report;
    this.#intervalMs = intervalMs;
  }

  add(peer: string, amount: bigint, balance: bigint): void {
    const p = this.#pending.get(peer) ?? { count: 0, total: 0n, balance };
    p.count++;
    p.total += amount;
    p.balance = balance;
    this.#pending.set(peer, p);
    this.#timer ??= setTimeout(() => this.flush(), this.#intervalMs);
  }

  /** Reports everything pending now and stops the timer. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [peer, p] of this.#pending) this.#report(peer, p.count, p.total, p.balance);
    this.#pending.clear();
  }
}
