import {
  type Account,
  type Address,
  type Asset,
  type ChannelBackend,
  type ChannelId,
  type Params,
  type Signature,
  type State,
  stateEquals,
  toHex,
} from "@perun-ts/core";

/**
 * A `ChannelBackend` wrapper for the honest party of an adversarial test: it signs only states the
 * honest party consented to beforehand (`consent`), records every signature it made, and records a
 * violation for any other state it is asked to sign (the client signing something its user never
 * agreed to would be a fund loss). Version-0 states are consented implicitly (the opening).
 */
export class ConsentBackend implements ChannelBackend {
  readonly #inner: ChannelBackend;
  readonly #consented: State[] = [];
  readonly #signed = new Set<string>();
  readonly #signedStates: State[] = [];
  /** Descriptions of states signed without consent; must stay empty. */
  readonly violations: string[] = [];

  constructor(inner: ChannelBackend) {
    this.#inner = inner;
  }

  get signatureLength(): number {
    return this.#inner.signatureLength;
  }

  calcId(p: Params): ChannelId {
    return this.#inner.calcId(p);
  }

  /** The honest user agrees to sign exactly `state` (version included). */
  consent(state: State): void {
    this.#consented.push(state);
  }

  async sign(account: Account, state: State): Promise<Signature> {
    if (state.version !== 0n && !this.#consented.some((c) => stateEquals(c, state))) {
      this.violations.push(
        `signed version ${state.version} without consent: balances ${state.allocation.balances
          .map((r) => r.join("/"))
          .join(",")}, final ${state.isFinal}`,
      );
    }
    const sig = await this.#inner.sign(account, state);
    this.#signed.add(toHex(sig));
    this.#signedStates.push(state);
    return sig;
  }

  /** True if this backend produced `sig`. */
  producedSignature(sig: Signature | undefined): boolean {
    return sig !== undefined && this.#signed.has(toHex(sig));
  }

  /** Every state signed so far (consented ones and, in a failure, the violations). */
  get signedStates(): readonly State[] {
    return this.#signedStates;
  }

  verify(signer: Address, state: State, sig: Signature): Promise<boolean> {
    return this.#inner.verify(signer, state, sig);
  }

  decodeAddress(bytes: Uint8Array): Address {
    return this.#inner.decodeAddress(bytes);
  }

  decodeAsset(bytes: Uint8Array): Asset {
    return this.#inner.decodeAsset(bytes);
  }
}
