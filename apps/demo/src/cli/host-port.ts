import { UsageError } from "../errors.js";

/** A TCP endpoint. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port" (IPv6 as "[::1]:port"); port 0 means "any free port". */
export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new UsageError(`${what} "${text}" is not host:port (e.g. 127.0.0.1:5001)`);
  return { host: (m[1] ?? m[2]) as string, port };
}

export function formatHostPort(h: HostPort): string {
  return h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}
