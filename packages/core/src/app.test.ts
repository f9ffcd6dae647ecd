import { describe, expect, it } from "vitest";
import { type App, AppRegistry, appsEqual, isNoApp, noApp, PaymentApp } from "./app.js";
import { StateTransitionError, ValidationError } from "./errors.js";
import { FakeAddress } from "./fake-backend.test-helper.js";
import { appAddress, makeAllocation, makeParams, next } from "./machine-fixture.test-helper.js";
import { makeInitialState, type State } from "./state.js";

const addr = (n: number) => new FakeAddress(new Uint8Array(20).fill(n));

describe("noApp", () => {
  const params = makeParams();
  const s0 = makeInitialState(params, makeAllocation());

  it("allows any transition without data and rejects app data", () => {
    expect(isNoApp(noApp)).toBe(true);
    expect(() => noApp.validTransition(params, s0, next(s0), 1)).not.toThrow();
    expect(() => noApp.validTransition(params, s0, next(s0, { data: new Uint8Array([1]) }), 0)).toThrow(
      StateTransitionError,
    );
    expect(() => noApp.validInit(params, { ...s0, data: new Uint8Array([1]) })).toThrow(/app data/);
  });
});

describe("PaymentApp (spec §2.6)", () => {
  const app = new PaymentApp(appAddress);
  const params = makeParams({ app });
  const s0 = makeInitialState(params, makeAllocation()); // [[10,10],[5,7]]
  const withBalances = (balances: bigint[][]): State =>
    next(s0, { allocation: { ...s0.allocation, balances } });
  const reason = (to: State, actor: number): string => {
    try {
      app.validTransition(params, s0, to, actor);
    } catch (e) {
      expect(e).toBeInstanceOf(StateTransitionError);
      return (e as StateTransitionError).reason;
    }
    return "";
  };

  it("lets the actor pay others in every asset", () => {
    expect(
      reason(
        withBalances([
          [7n, 13n],
          [5n, 7n],
        ]),
        0,
      ),
    ).toBe("");
    expect(
      reason(
        withBalances([
          [10n, 10n],
          [6n, 6n],
        ]),
        1,
      ),
    ).toBe("");
    expect(reason(next(s0), 0)).toBe("");
  });

  it("rejects the actor increasing its own balance", () => {
    expect(
      reason(
        withBalances([
          [11n, 9n],
          [5n, 7n],
        ]),
        0,
      ),
    ).toMatch(/actor 0 increased its own balance of asset 0/);
  });

  it("rejects anyone but the actor losing funds", () => {
    expect(
      reason(
        withBalances([
          [10n, 9n],
          [5n, 7n],
        ]),
        0,
      ),
    ).toMatch(/participant 1 lost funds of asset 0/);
  });

  it("rejects app data and a changed participant count", () => {
    expect(reason(next(s0, { data: new Uint8Array([0]) }), 0)).toMatch(/takes no data/);
    expect(
      reason(
        withBalances([
          [10n, 10n, 0n],
          [5n, 7n, 0n],
        ]),
        0,
      ),
    ).toMatch(/participant count changed/);
    expect(() => app.validInit(params, { ...s0, data: new Uint8Array([1]) })).toThrow(/takes no data/);
    expect(() => app.validInit(params, s0)).not.toThrow();
  });
});

describe("appsEqual", () => {
  it("compares definitions; noApp only equals noApp", () => {
    expect(appsEqual(noApp, noApp)).toBe(true);
    expect(appsEqual(new PaymentApp(addr(1)), new PaymentApp(addr(1)))).toBe(true);
    expect(appsEqual(new PaymentApp(addr(1)), new PaymentApp(addr(2)))).toBe(false);
    expect(appsEqual(noApp, new PaymentApp(addr(1)))).toBe(false);
    expect(appsEqual(new PaymentApp(addr(1)), noApp)).toBe(false);
  });
});

describe("AppRegistry resolution order", () => {
  const tagged = (def: FakeAddress, tag: string): App & { tag: string } =>
    Object.assign(new PaymentApp(def), { tag });

  it("null → noApp; exact match beats resolvers; resolvers in registration order; then the default", () => {
    const reg = new AppRegistry();
    const exact = tagged(addr(1), "exact");
    reg.register(exact);
    reg.registerResolver(
      (d) => d.bytes()[0] !== 9,
      (d) => tagged(d as FakeAddress, "first"),
    );
    reg.registerResolver(
      () => true,
      (d) => tagged(d as FakeAddress, "second"),
    );
    reg.setDefault((d) => tagged(d as FakeAddress, "default"));
    expect(reg.resolve(null)).toBe(noApp);
    expect(reg.resolve(addr(1))).toBe(exact);
    expect((reg.resolve(addr(2)) as App & { tag: string }).tag).toBe("first");
    expect((reg.resolve(addr(9)) as App & { tag: string }).tag).toBe("second");
  });

  it("falls back to the default, and without one rejects unknown apps with ValidationError", () => {
    const reg = new AppRegistry();
    reg.registerResolver(
      () => false,
      (d) => tagged(d as FakeAddress, "never"),
    );
    expect(() => reg.resolve(addr(3))).toThrow(ValidationError);
    expect(() => reg.resolve(addr(3))).toThrow(/unknown app/);
    reg.setDefault((d) => tagged(d as FakeAddress, "default"));
    expect((reg.resolve(addr(3)) as App & { tag: string }).tag).toBe("default");
  });

  it("registries are independent objects and noApp cannot be registered", () => {
    const a = new AppRegistry().register(new PaymentApp(addr(4)));
    const b = new AppRegistry();
    expect(a.resolve(addr(4)).def?.equals(addr(4))).toBe(true);
    expect(() => b.resolve(addr(4))).toThrow(ValidationError);
    expect(() => b.register(noApp)).toThrow(ValidationError);
  });
});
