import { assetHolderAbi, perunTokenAbi } from "@perun-ts/contracts";
import { encodeFunctionData, type Hex, type LocalAccount } from "viem";
import type { EthChain, TxRequest } from "./chain.js";
import type { EthAddress } from "./eth-address.js";
import type { EthAsset } from "./eth-asset.js";

/** How one asset is deposited: the transactions to send, in order, for `amount` into `fundingId`. */
export interface Depositor {
  /** Builds the transactions (sent back-to-back with consecutive nonces, without waiting in between). */
  depositTxs(
    holder: EthAsset,
    fundingId: Hex,
    amount: bigint,
  ): readonly (TxRequest & { readonly label: string })[];
}

/** Deposits ETH: one `deposit(fundingId, amount)` with value = amount. */
export class EthDepositor implements Depositor {
  /** Fixed gas limit (measured ~46k; a fixed limit lets several deposits be in flight without estimation). */
  constructor(readonly gas = 100_000n) {}

  depositTxs(holder: EthAsset, fundingId: Hex, amount: bigint) {
    return [
      {
        label: "deposit ETH",
        to: holder.hex,
        data: encodeFunctionData({ abi: assetHolderAbi, functionName: "deposit", args: [fundingId, amount] }),
        value: amount,
        gas: this.gas,
      },
    ];
  }
}

/**
 * Deposits an ERC20 token: `increaseAllowance(holder, amount)` (or `approve` for tokens without it)
 * then `deposit(fundingId, amount)`, sent back-to-back.
 */
export class Erc20Depositor implements Depositor {
  constructor(
    readonly token: EthAddress,
    readonly opts: { readonly allowance?: "increaseAllowance" | "approve"; readonly gas?: bigint } = {},
  ) {}

  depositTxs(holder: EthAsset, fundingId: Hex, amount: bigint) {
    const gas = this.opts.gas ?? 150_000n;
    const allowance =
      (this.opts.allowance ?? "increaseAllowance") === "increaseAllowance"
        ? encodeFunctionData({
            abi: perunTokenAbi,
            functionName: "increaseAllowance",
            args: [holder.hex, amount],
          })
        : encodeFunctionData({ abi: perunTokenAbi, functionName: "approve", args: [holder.hex, amount] });
    return [
      { label: "approve ERC20", to: this.token.hex, data: allowance, gas },
      {
        label: "deposit ERC20",
        to: holder.hex,
        data: encodeFunctionData({ abi: assetHolderAbi, functionName: "deposit", args: [fundingId, amount] }),
        gas,
      },
    ];
  }
}

/** Sends a depositor's transactions for one funding id and waits for all of them. */
export async function sendDeposit(
  chain: EthChain,
  account: LocalAccount,
  depositor: Depositor,
  holder: EthAsset,
  fundingId: Hex,
  amount: bigint,
  signal?: AbortSignal,
): Promise<void> {
  const txs = depositor.depositTxs(holder, fundingId, amount);
  const hashes: Hex[] = [];
  for (const tx of txs)
    hashes.push(await chain.submit(account, tx, { label: tx.label, ...(signal && { signal }) }));
  await Promise.all(
    hashes.map((h, i) => {
      const tx = txs[i] as TxRequest & { label: string };
      return chain.waitForReceipt(h, account, tx, { label: tx.label, ...(signal && { signal }) });
    }),
  );
}
