import {
  ManualClock,
  SimAsset,
  SimChannelBackend,
  type SimClock,
  SimLedger,
  WallClock,
} from "@perun-ts/backend-sim";
import { AppRegistry } from "@perun-ts/core";
import { LedgerServer } from "./ledger-server.js";

/** The asset of the demo's sim ledger ("ETH", 18 decimals). */
export const SIM_ETH = new SimAsset(1n);

/** A running sim ledger: the ledger object (for direct reads) and its server. */
export interface RunningLedger {
  readonly ledger: SimLedger;
  readonly clock: SimClock;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts a sim ledger server on `host:port` (0 = any free port). `manualClock` makes ledger time
 * move only when told (`advance`); otherwise it follows the wall clock.
 */
export async function startSimLedger(opts: {
  readonly host: string;
  readonly port: number;
  readonly initialBalance?: bigint;
  readonly manualClock?: boolean;
}): Promise<RunningLedger> {
  const backend = new SimChannelBackend();
  const clock: SimClock = opts.manualClock
    ? new ManualClock(BigInt(Math.floor(Date.now() / 1000)))
    : new WallClock();
  const ledger = new SimLedger({ backend, clock, initialBalance: opts.initialBalance ?? 0n });
  const server = new LedgerServer({ ledger, backend, apps: new AppRegistry(), asset: SIM_ETH });
  const port = await server.listen(opts.host, opts.port);
  return { ledger, clock, port, close: () => server.close() };
}
