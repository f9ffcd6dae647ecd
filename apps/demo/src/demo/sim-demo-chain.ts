import { SimAccount, SimAddress } from "@perun-ts/backend-sim";
import { fromHex, toHex } from "@perun-ts/core";
import { SIM_ETH, startSimLedger } from "../ledger-rpc/start-ledger.js";
import type { DemoAccount, DemoChain } from "./demo-chain.js";

function randomKey(): Uint8Array {
  for (;;) {
    const key = crypto.getRandomValues(new Uint8Array(32));
    try {
      SimAccount.fromSecretKey(key);
      return key;
    } catch {
      // not a valid secp256k1 scalar (probability ~2^-128): draw again
    }
  }
}

/**
 * The sim chain of the demo: a `SimLedger` in the demo process with a manual clock, served to the
 * node processes over TCP (they share it as they would share a chain).
 */
export async function startSimDemoChain(): Promise<DemoChain> {
  const running = await startSimLedger({ host: "127.0.0.1", port: 0, manualClock: true });
  const { ledger } = running;
  const addr = (a: string) => SimAddress.fromBytes(fromHex(a));
  return {
    description: `sim ledger (served by this process on 127.0.0.1:${running.port}, manual clock)`,
    nodeArgs: () => ["--backend", "sim", "--ledger", `127.0.0.1:${running.port}`],
    newAccount: async (balance): Promise<DemoAccount> => {
      const key = randomKey();
      const account = SimAccount.fromSecretKey(key);
      ledger.mint(account.address, SIM_ETH, balance);
      return { key: `0x${toHex(key)}`, address: account.address.toString() };
    },
    balanceOf: async (a) => ledger.balanceOf(addr(a), SIM_ETH),
    heldFor: async (channelId, a) => ledger.holdings(SIM_ETH, ledger.fundingId(fromHex(channelId), addr(a))),
    advanceTime: async (seconds) => {
      const clock = running.clock as { advance?: (s: bigint) => void };
      clock.advance?.(seconds);
    },
    hasGas: false,
    close: () => running.close(),
  };
}
