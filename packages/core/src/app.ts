import { channelIdHex } from "./channel-id.js";
import { StateTransitionError, ValidationError } from "./errors.js";
import type { Address } from "./identity.js";
import { addressKey } from "./identity.js";
import type { Params } from "./params.js";
import type { State } from "./state.js";

/**
 * A channel application: the rules an off-chain update must follow. App data is opaque bytes that
 * only the app interprets (on Ethereum it is the `appData` of the state).
 */
export interface App {
  /** The app's on-chain definition address; `null` for `noApp` (payment-only ledger channels). */
  readonly def: Address | null;
  /** Throws `StateTransitionError` if `state` (version 0) is not a valid initial state. */
  validInit(params: Params, state: State): void;
  /** Throws `StateTransitionError` if `to` may not follow `from` when `actorIdx` acts. */
  validTransition(params: Params, from: State, to: State, actorIdx: number): void;
}

/** The app of plain ledger channels: any transition allowed by the generic rules; no app data. */
export const noApp: App = Object.freeze({
  def: null,
  validInit(_params: Params, state: State): void {
    if (state.data.length !== 0)
      throw new StateTransitionError(channelIdHex(state.id), "noApp state carries app data");
  },
  validTransition(_params: Params, _from: State, to: State): void {
    if (to.data.length !== 0)
      throw new StateTransitionError(channelIdHex(to.id), "noApp state carries app data");
  },
});

export function isNoApp(app: App): boolean {
  return app.def === null;
}

/** Both apps are `noApp`, or both have the same definition address. */
export function appsEqual(a: App, b: App): boolean {
  if (a.def === null || b.def === null) return a.def === b.def;
  return a.def.equals(b.def);
}

/**
 * The payment app (spec §2.6): no app data; in every asset only the actor's balance may decrease
 * and nobody else's may.
 */
export class PaymentApp implements App {
  constructor(readonly def: Address) {}

  validInit(_params: Params, state: State): void {
    if (state.data.length !== 0)
      throw new StateTransitionError(channelIdHex(state.id), "payment app takes no data");
  }

  validTransition(_params: Params, from: State, to: State, actorIdx: number): void {
    const id = channelIdHex(to.id);
    if (to.data.length !== 0) throw new StateTransitionError(id, "payment app takes no data");
    to.allocation.balances.forEach((row, asset) => {
      row.forEach((next, part) => {
        const prev = from.allocation.balances[asset]?.[part];
        if (prev === undefined) throw new StateTransitionError(id, "participant count changed");
        if (part === actorIdx && next > prev) {
          throw new StateTransitionError(id, `actor ${actorIdx} increased its own balance of asset ${asset}`);
        }
        if (part !== actorIdx && next < prev) {
          throw new StateTransitionError(
            id,
            `participant ${part} lost funds of asset ${asset} but did not act`,
          );
        }
      });
    });
  }
}

/** Finds the `App` for a definition address received from a peer or storage. */
export type AppResolver = (def: Address) => App;

/**
 * Apps by definition address. One registry object per client (no global registry): exact matches
 * first, then predicate resolvers in registration order, then the default resolver.
 */
export class AppRegistry {
  readonly #apps = new Map<string, App>();
  readonly #resolvers: { matches: (def: Address) => boolean; resolve: AppResolver }[] = [];
  #default: AppResolver | undefined;

  register(app: App): this {
    if (app.def === null) throw new ValidationError("noApp is always known and cannot be registered");
    this.#apps.set(addressKey(app.def), app);
    return this;
  }

  registerResolver(matches: (def: Address) => boolean, resolve: AppResolver): this {
    this.#resolvers.push({ matches, resolve });
    return this;
  }

  setDefault(resolve: AppResolver): this {
    this.#default = resolve;
    return this;
  }

  /** `null` resolves to `noApp`; an unknown definition throws `ValidationError`. */
  resolve(def: Address | null): App {
    if (def === null) return noApp;
    const exact = this.#apps.get(addressKey(def));
    if (exact) return exact;
    for (const r of this.#resolvers) if (r.matches(def)) return r.resolve(def);
    if (this.#default) return this.#default(def);
    throw new ValidationError(`unknown app ${def.toString()}`);
  }
}
