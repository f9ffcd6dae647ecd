import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { parsePeerFlag, readConfigFile, validateNodeConfig } from "./node-config.js";

const KEY = `0x${"42".repeat(32)}`;
const BOB = `0x${"ab".repeat(20)}`;
const dir = mkdtempSync(join(tmpdir(), "perun-config-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function usageError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  throw new Error("accepted");
}

describe("node config", () => {
  it("validates a complete config and resolves the data dir against the config's folder", () => {
    const cfg = validateNodeConfig(
      {
        name: "alice",
        key: KEY,
        listen: "127.0.0.1:5001",
        ledger: "127.0.0.1:6000",
        dataDir: "alice-data",
        challengeDuration: 30,
        peers: { bob: { address: BOB, at: "127.0.0.1:5002" } },
      },
      "/srv/perun",
    );
    expect(cfg.name).toBe("alice");
    expect(cfg.key).toHaveLength(32);
    expect(cfg.listen).toEqual({ host: "127.0.0.1", port: 5001 });
    expect(cfg.backend).toBe("sim");
    expect(cfg.dataDir).toBe("/srv/perun/alice-data");
    expect(cfg.challengeDuration).toBe(30n);
    expect(cfg.peers).toEqual([{ name: "bob", address: BOB, at: { host: "127.0.0.1", port: 5002 } }]);
  });

  it.each([
    [{ ledger: "127.0.0.1:1" }, "a key is required"],
    [{ key: "0x1234", ledger: "127.0.0.1:1" }, "key must be 32 bytes"],
    [{ key: "zz", ledger: "127.0.0.1:1" }, "key must be hex"],
    [{ key: KEY }, "needs the sim ledger"],
    [{ key: KEY, ledger: "localhost" }, "is not host:port"],
    [{ key: KEY, ledger: "h:99999" }, "is not host:port"],
    [{ key: KEY, ledger: "h:1", backend: "btc" }, "backend must be sim or eth"],
    [{ key: KEY, backend: "eth" }, "backend eth needs rpcUrl"],
    [{ key: KEY, ledger: "h:1", challengeDuration: 0 }, "challengeDuration"],
    [{ key: KEY, ledger: "h:1", peers: { bob: { address: "0x12", at: "h:1" } } }, "is not an address"],
    [{ key: KEY, ledger: "h:1", peers: { bob: "x" } }, 'peer "bob" must be an object'],
    [{ key: KEY, ledger: "h:1", peers: 7 }, '"peers" must be an object'],
    [{ key: KEY, ledger: "h:1", name: "a b" }, "must be a word"],
  ])("rejects %j: %s", (raw, reason) => {
    expect(usageError(() => validateNodeConfig(raw))).toContain(reason);
  });

  it("parses --peer flags", () => {
    expect(parsePeerFlag(`bob=${BOB}@127.0.0.1:5002`)).toEqual({
      name: "bob",
      address: BOB,
      at: { host: "127.0.0.1", port: 5002 },
    });
    expect(usageError(() => parsePeerFlag("bob@1.2.3.4:5"))).toContain("name=0xADDRESS@host:port");
  });

  it("reports unreadable and malformed config files in one line", () => {
    expect(usageError(() => readConfigFile(join(dir, "missing.json")))).toContain("ENOENT");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ key: ");
    expect(usageError(() => readConfigFile(bad))).toContain("is not valid JSON");
    const arr = join(dir, "arr.json");
    writeFileSync(arr, "[1]");
    expect(usageError(() => readConfigFile(arr))).toContain("must be a JSON object");
  });
});
