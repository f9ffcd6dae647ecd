import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import * as api from "./index.js";

// Kept in its own file: vitest runs each file in a fresh module graph, so nothing else here can
// have loaded the addon before the first assertion.
const requireCache = createRequire(import.meta.url).cache;
const addonLoaded = () =>
  Object.keys(requireCache).some((p) => /secp256k1[\\/](bindings\.js|.*\.node)$/.test(p));

describe("native binding loading", () => {
  it("loads nothing at import time, only when asked", () => {
    expect(typeof api.loadNativeSecp256k1).toBe("function");
    expect(addonLoaded()).toBe(false);
    expect(api.loadNativeSecp256k1()?.name).toBe("native");
    expect(addonLoaded()).toBe(true);
  });
});
