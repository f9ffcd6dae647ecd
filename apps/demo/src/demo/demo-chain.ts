/** A party's keys as the demo hands them to a node. */
export interface DemoAccount {
  /** Secret key, `0x` + 64 hex digits. */
  readonly key: string;
  /** Address, `0x` + 40 hex digits. */
  readonly address: string;
}

/** The chain side of the scripted demo (sim ledger or local anvil), seen by the orchestrator. */
export interface DemoChain {
  /** One line for the header, e.g. "sim ledger (in the demo process) at 127.0.0.1:40111". */
  readonly description: string;
  /** Flags that connect a `perun node` to this chain. */
  nodeArgs(): string[];
  /** A new account holding `balance` wei on chain. */
  newAccount(balance: bigint): Promise<DemoAccount>;
  /** On-chain balance of an address. */
  balanceOf(address: string): Promise<bigint>;
  /** Funds the chain holds for `address` in a concluded channel (not yet withdrawn). */
  heldFor(channelId: string, address: string): Promise<bigint>;
  /** Moves chain time forward. */
  advanceTime(seconds: bigint): Promise<void>;
  /** True if transactions cost gas (balances then fall short of the channel outcomes by the gas). */
  readonly hasGas: boolean;
  close(): Promise<void>;
}
