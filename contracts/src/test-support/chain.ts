// A private anvil chain with viem clients and typed call/revert helpers, for tests.
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionName,
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeErrorResult,
  type EncodeFunctionDataParameters,
  encodeFunctionData,
  getAddress,
  type Hex,
  http,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { type Anvil, startAnvil } from "./anvil.js";

/** Anvil's well-known development key #0 (funded by anvil at genesis; test use only). */
const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

export type CallSpec<abi extends Abi, fn extends ContractFunctionName<abi>> = EncodeFunctionDataParameters<
  abi,
  fn
> & {
  readonly address: Address;
  readonly value?: bigint;
  readonly from?: Account;
};

export class TestChain {
  private constructor(
    private readonly anvil: Anvil,
    readonly publicClient: PublicClient<Transport, Chain>,
    readonly walletClient: WalletClient<Transport, Chain, Account>,
    readonly testClient: TestClient<"anvil", Transport, Chain>,
  ) {}

  static async start(): Promise<TestChain> {
    const anvil = await startAnvil();
    const transport = http(anvil.rpcUrl, { retryCount: 0 });
    const chain = foundry;
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 10 });
    const walletClient = createWalletClient({ chain, transport, account: privateKeyToAccount(DEPLOYER_KEY) });
    const testClient = createTestClient({ chain, transport, mode: "anvil" });
    return new TestChain(anvil, publicClient, walletClient, testClient);
  }

  stop(): Promise<void> {
    return this.anvil.stop();
  }

  get deployer(): Account {
    return this.walletClient.account;
  }

  /** Gives `address` 1000 ETH. */
  async fund(address: Address): Promise<void> {
    await this.testClient.setBalance({ address, value: 10n ** 21n });
  }

  async deploy(abi: Abi, bytecode: Hex, args: readonly unknown[] = [], from?: Account): Promise<Address> {
    const hash = await this.walletClient.deployContract({
      abi,
      bytecode,
      args,
      account: from ?? this.deployer,
    } as Parameters<typeof this.walletClient.deployContract>[0]);
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 5 });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error("deployment failed");
    return getAddress(receipt.contractAddress);
  }

  async deployWithReceipt(
    abi: Abi,
    bytecode: Hex,
    args: readonly unknown[] = [],
  ): Promise<{ address: Address; receipt: TransactionReceipt }> {
    const hash = await this.walletClient.deployContract({
      abi,
      bytecode,
      args,
      account: this.deployer,
    } as Parameters<typeof this.walletClient.deployContract>[0]);
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 5 });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error("deployment failed");
    return { address: getAddress(receipt.contractAddress), receipt };
  }

  /** Sends a transaction calling `spec` and returns its receipt; throws if it reverted. */
  async send<const abi extends Abi, fn extends ContractFunctionName<abi>>(
    spec: CallSpec<abi, fn>,
  ): Promise<TransactionReceipt> {
    const data = encodeFunctionData(spec as EncodeFunctionDataParameters);
    const hash = await this.walletClient.sendTransaction({
      account: spec.from ?? this.deployer,
      to: spec.address,
      data,
      value: spec.value ?? 0n,
      gas: 5_000_000n,
    });
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 5 });
    if (receipt.status !== "success")
      throw new Error(`transaction reverted: ${await this.traceReason(hash)}`);
    return receipt;
  }

  /**
   * Sends `spec` as a transaction (fixed gas, no estimation) that must revert, and returns its revert
   * reason from the node's call trace: the `Error(string)` text, `panic:<code>`, or `revert:<data>`.
   * Being mined, the call sees the block timestamp set with {@link setNextTimestamp}.
   */
  async revertReason<const abi extends Abi, fn extends ContractFunctionName<abi>>(
    spec: CallSpec<abi, fn>,
  ): Promise<string> {
    const data = encodeFunctionData(spec as EncodeFunctionDataParameters);
    const hash = await this.walletClient.sendTransaction({
      account: spec.from ?? this.deployer,
      to: spec.address,
      data,
      value: spec.value ?? 0n,
      gas: 5_000_000n,
    });
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 5 });
    if (receipt.status === "success") throw new Error("transaction did not revert");
    return this.traceReason(hash);
  }

  private async traceReason(hash: Hex): Promise<string> {
    const trace = (await this.publicClient.request({
      method: "debug_traceTransaction",
      params: [hash, { tracer: "callTracer" }],
    } as never)) as { output?: Hex; error?: string };
    const out = trace.output;
    if (out === undefined || out === "0x") return `revert:0x${trace.error ? ` (${trace.error})` : ""}`;
    try {
      const decoded = decodeErrorResult({ abi: [], data: out });
      if (decoded.errorName === "Error") return String(decoded.args[0]);
      if (decoded.errorName === "Panic") return `panic:${String(decoded.args[0])}`;
    } catch {
      // custom error data
    }
    return `revert:${out}`;
  }

  async timestamp(): Promise<bigint> {
    const block = await this.publicClient.getBlock();
    return block.timestamp;
  }

  /** The next mined block gets timestamp `t`. */
  async setNextTimestamp(t: bigint): Promise<void> {
    await this.testClient.setNextBlockTimestamp({ timestamp: t });
  }

  async blockTimestampOf(receipt: TransactionReceipt): Promise<bigint> {
    const block = await this.publicClient.getBlock({ blockHash: receipt.blockHash });
    return block.timestamp;
  }

  async snapshot(): Promise<Hex> {
    return this.testClient.snapshot();
  }

  async revert(id: Hex): Promise<void> {
    await this.testClient.revert({ id });
  }
}
