import { UsageError } from "./errors.js";

/** Decimals of ETH (1 ETH = 10^18 wei). The sim backend's asset uses the same unit. */
export const ETH_DECIMALS = 18;
const WEI_PER_ETH = 10n ** BigInt(ETH_DECIMALS);
const AMOUNT = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal ETH amount ("1", "0.25", "1000.000000000000000001") into wei. Rejects signs,
 * exponents, more than 18 decimals and anything that is not a plain decimal number.
 *
 * @throws UsageError with the reason.
 */
export function parseEth(text: string, what = "amount"): bigint {
  const t = text.trim();
  const m = AMOUNT.exec(t);
  if (!m) throw new UsageError(`${what} "${text}" is not a number of ETH (e.g. 1.5)`);
  const whole = m[1] as string;
  const frac = m[2] ?? "";
  if (frac.length > ETH_DECIMALS) {
    throw new UsageError(`${what} "${text}" has more than ${ETH_DECIMALS} decimals`);
  }
  return BigInt(whole) * WEI_PER_ETH + BigInt(frac.padEnd(ETH_DECIMALS, "0") || "0");
}

/** Like `parseEth`, but zero is rejected too. */
export function parsePositiveEth(text: string, what = "amount"): bigint {
  const v = parseEth(text, what);
  if (v === 0n) throw new UsageError(`${what} must be greater than 0`);
  return v;
}

/** Formats wei as ETH with all significant decimals ("1.5 ETH", "0.001 ETH", "-2 ETH"). */
export function formatEth(wei: bigint, unit = " ETH"): string {
  const neg = wei < 0n;
  const abs = neg ? -wei : wei;
  const whole = abs / WEI_PER_ETH;
  const frac = (abs % WEI_PER_ETH).toString().padStart(ETH_DECIMALS, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${whole}${frac ? `.${frac}` : ""}${unit}`;
}

/** Like `formatEth`, rounded to `decimals` places ("≈ 99.949813 ETH" when rounding changed it). */
export function formatEthRounded(wei: bigint, decimals = 6): string {
  const unit = 10n ** BigInt(ETH_DECIMALS - decimals);
  const half = unit / 2n;
  const rounded = ((wei < 0n ? wei - half : wei + half) / unit) * unit;
  return `${rounded === wei ? "" : "≈ "}${formatEth(rounded)}`;
}
