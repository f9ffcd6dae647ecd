import type { App } from "./app.js";
import { CHANNEL_ID_LENGTH, type ChannelId } from "./channel-id.js";
import { ValidationError } from "./errors.js";
import type { Address } from "./identity.js";
import { MAX_NONCE, MAX_PARTS, MAX_UINT64, MIN_PARTS } from "./limits.js";

/** Everything that defines a channel; the id is derived from these fields by the backend. */
export interface ParamsInit {
  /** Dispute period in seconds; non-zero. */
  readonly challengeDuration: bigint;
  /** Participants' signing addresses, 2..1024. */
  readonly parts: readonly Address[];
  readonly app: App;
  /** Makes the id unique; at most 32 bytes. */
  readonly nonce: bigint;
  /** Funded on chain. */
  readonly ledgerChannel: boolean;
  /** Opened as a virtual channel through an intermediary. */
  readonly virtualChannel: boolean;
}

/** Computes channel ids; implemented by `ChannelBackend`. */
export interface ChannelIdCalculator {
  calcId(params: ParamsInit): ChannelId;
}

/** Checks the parameter rules of spec §2.2; throws `ValidationError` with the failing rule. */
export function validateParams(p: ParamsInit): void {
  if (typeof p.challengeDuration !== "bigint" || p.challengeDuration <= 0n) {
    throw new ValidationError("challenge duration must be a positive bigint");
  }
  if (p.challengeDuration > MAX_UINT64) throw new ValidationError("challenge duration exceeds uint64");
  if (p.parts.length < MIN_PARTS || p.parts.length > MAX_PARTS) {
    throw new ValidationError(`a channel has ${MIN_PARTS}..${MAX_PARTS} participants, got ${p.parts.length}`);
  }
  for (let i = 0; i < p.parts.length; i++) {
    for (let j = 0; j < i; j++) {
      if ((p.parts[i] as Address).equals(p.parts[j] as Address)) {
        throw new ValidationError(`participant ${i} repeats participant ${j}`);
      }
    }
  }
  if (p.app === null || typeof p.app !== "object") throw new ValidationError("app missing");
  if (typeof p.nonce !== "bigint" || p.nonce < 0n || p.nonce > MAX_NONCE) {
    throw new ValidationError("nonce must be a non-negative bigint of at most 32 bytes");
  }
  if (p.ledgerChannel && p.virtualChannel)
    throw new ValidationError("a channel cannot be both ledger and virtual");
}

/** Validated channel parameters with their id (computed once, through the channel backend). */
export class Params implements ParamsInit {
  readonly challengeDuration: bigint;
  readonly parts: readonly Address[];
  readonly app: App;
  readonly nonce: bigint;
  readonly ledgerChannel: boolean;
  readonly virtualChannel: boolean;
  readonly id: ChannelId;

  private constructor(init: ParamsInit, id: ChannelId) {
    this.challengeDuration = init.challengeDuration;
    this.parts = Object.freeze([...init.parts]);
    this.app = init.app;
    this.nonce = init.nonce;
    this.ledgerChannel = init.ledgerChannel;
    this.virtualChannel = init.virtualChannel;
    this.id = id;
    Object.freeze(this);
  }

  /** Validates `init` and computes the id with `backend`; throws `ValidationError`. */
  static create(init: ParamsInit, backend: ChannelIdCalculator): Params {
    validateParams(init);
    const id = backend.calcId(init);
    if (!(id instanceof Uint8Array) || id.length !== CHANNEL_ID_LENGTH) {
      throw new ValidationError("channel backend returned an id that is not 32 bytes");
    }
    return new Params(init, id);
  }

  get numParts(): number {
    return this.parts.length;
  }
}
