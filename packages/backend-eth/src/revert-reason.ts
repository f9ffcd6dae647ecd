import { BaseError, decodeErrorResult, type Hex, parseAbi } from "viem";

const ERROR_ABI = parseAbi(["error Error(string)", "error Panic(uint256)"]);

/** The revert reason carried by a viem error (or any error with revert data), if there is one. */
export function revertReasonOf(err: unknown): string | undefined {
  let found: string | undefined;
  const visit = (e: unknown): boolean => {
    if (typeof e !== "object" || e === null) return false;
    const r = (e as { reason?: unknown }).reason;
    if (typeof r === "string" && r.length > 0) {
      found = r;
      return true;
    }
    const data = revertDataOf(e);
    if (data !== undefined) {
      const decoded = decodeRevertData(data);
      if (decoded !== undefined) {
        found = decoded;
        return true;
      }
    }
    const msg = (e as { details?: unknown }).details ?? (e as { message?: unknown }).message;
    if (typeof msg === "string") {
      const m = /execution reverted: (.+)$/m.exec(msg);
      if (m?.[1]) {
        found = m[1].trim();
        return true;
      }
    }
    return false;
  };
  if (err instanceof BaseError) err.walk((e) => visit(e));
  else {
    let e: unknown = err;
    for (let i = 0; i < 10 && e !== undefined && !visit(e); i++) e = (e as { cause?: unknown }).cause;
  }
  return found;
}

function revertDataOf(e: object): Hex | undefined {
  const d = (e as { data?: unknown }).data;
  if (typeof d === "string" && d.startsWith("0x") && d.length >= 10) return d as Hex;
  if (typeof d === "object" && d !== null) {
    const inner = (d as { data?: unknown }).data;
    if (typeof inner === "string" && inner.startsWith("0x") && inner.length >= 10) return inner as Hex;
  }
  return undefined;
}

/** Decodes `Error(string)` / `Panic(uint256)` revert data. */
export function decodeRevertData(data: Hex): string | undefined {
  try {
    const r = decodeErrorResult({ abi: ERROR_ABI, data });
    if (r.errorName === "Error") return r.args[0];
    return `panic 0x${r.args[0].toString(16)}`;
  } catch {
    return undefined;
  }
}

/** True if a viem/RPC error means the node could not be reached (refused, reset, DNS, socket closed). */
export function isUnreachable(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 12 && typeof e === "object" && e !== null; i++) {
    const name = (e as { name?: unknown }).name;
    const code = (e as { code?: unknown }).code;
    const msg = String((e as { message?: unknown }).message ?? "");
    if (name === "HttpRequestError" && (e as { status?: unknown }).status === undefined) return true;
    if (name === "WebSocketRequestError" || name === "SocketClosedError") return true;
    if (
      code === "ECONNREFUSED" ||
      code === "ECONNRESET" ||
      code === "ENOTFOUND" ||
      code === "UND_ERR_SOCKET"
    ) {
      return true;
    }
    if (/ECONNREFUSED|fetch failed|connection refused/i.test(msg)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
