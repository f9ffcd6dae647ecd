import type { CallOptions, Timeout } from "@perun-ts/core";
import type { EthChain } from "./chain.js";

/**
 * A point in chain time: elapsed once the latest block's timestamp is ≥ `time` (the local clock is
 * never used, so `evm_increaseTime` on a test chain moves it).
 */
export class BlockTimeout implements Timeout {
  constructor(
    readonly chain: EthChain,
    /** Unix seconds (block timestamp). */
    readonly time: bigint,
  ) {}

  async isElapsed(): Promise<boolean> {
    return (await this.chain.head()).timestamp >= this.time;
  }

  async wait(opts: CallOptions = {}): Promise<void> {
    await this.chain.waitForChainTime(this.time, opts.signal);
  }

  toString(): string {
    return `BlockTimeout(${this.time})`;
  }
}
