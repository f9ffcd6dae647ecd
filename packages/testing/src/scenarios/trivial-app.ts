import type { Address, App } from "@perun-ts/core";

/**
 * A test app that accepts every initial state and every transition (the generic rules still
 * apply): stands in for an app contract in the progression scenario.
 */
export class TrivialApp implements App {
  constructor(readonly def: Address) {}

  validInit(): void {}

  validTransition(): void {}
}
