import type { Socket } from "node:net";

/** Longest line accepted from the other side (a register request with a few states fits easily). */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * Splits a socket's input into lines of JSON; each parsed value goes to `onValue`. A line that is
 * too long or not JSON goes to `onError` (the caller decides; usually it closes the connection).
 */
export function readJsonLines(
  socket: Socket,
  onValue: (v: unknown) => void,
  onError: (reason: string) => void,
): void {
  let buf = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buf += chunk;
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl < 0) break;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() === "") continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        onError("malformed JSON line");
        return;
      }
      onValue(v);
    }
    if (buf.length > MAX_LINE_BYTES) {
      buf = "";
      onError("line too long");
    }
  });
}

/** Writes one value as a JSON line (bigints must be converted by the caller). */
export function writeJsonLine(socket: Socket, v: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(v)}\n`);
}

/** A plain object, for checking decoded JSON. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
