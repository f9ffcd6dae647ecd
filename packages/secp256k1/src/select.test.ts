import { describe, expect, it } from "vitest";
import { nobleSecp256k1 } from "./noble.js";
import { selectSecp256k1, type WarningLogger } from "./select.js";

function recordingLogger() {
  const warnings: { msg: string; fields: Readonly<Record<string, unknown>> | undefined }[] = [];
  const logger: WarningLogger = { warn: (msg, fields) => warnings.push({ msg, fields }) };
  return { logger, warnings };
}

describe("selectSecp256k1", () => {
  it("returns noble by default and for prefer: noble, without logging", () => {
    const { logger, warnings } = recordingLogger();
    expect(selectSecp256k1()).toBe(nobleSecp256k1);
    expect(selectSecp256k1({ prefer: "noble", logger })).toBe(nobleSecp256k1);
    expect(warnings).toEqual([]);
  });

  it("returns the native binding for prefer: native when it loads, without logging", () => {
    const { logger, warnings } = recordingLogger();
    expect(selectSecp256k1({ prefer: "native", logger }).name).toBe("native");
    expect(warnings).toEqual([]);
  });

  it("falls back to noble with one warning carrying the reason when the binding cannot load", () => {
    const { logger, warnings } = recordingLogger();
    const chosen = selectSecp256k1({ prefer: "native", logger, native: { moduleId: "secp256k1/absent" } });
    expect(chosen).toBe(nobleSecp256k1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/falling back to @noble\/curves/);
    expect(warnings[0]?.fields?.module).toBe("secp256k1/absent");
    expect(String(warnings[0]?.fields?.error)).toMatch(/Cannot find module/);
    // no logger: still falls back, silently
    expect(selectSecp256k1({ prefer: "native", native: { moduleId: "secp256k1/absent" } })).toBe(
      nobleSecp256k1,
    );
  });
});
