/** Limits of the data model, enforced on construction and on decode (DoS protection). */
export const MIN_PARTS = 2;
export const MAX_PARTS = 1024;
export const MAX_ASSETS = 1024;
export const MAX_LOCKED = 1024;
/** A nonce is at most 32 bytes. */
export const MAX_NONCE = (1n << 256n) - 1n;
/** Balances are uint256 on chain. */
export const MAX_BALANCE = (1n << 256n) - 1n;
/** Versions, challenge durations and timestamps are uint64. */
export const MAX_UINT64 = (1n << 64n) - 1n;
/** App data larger than this is rejected by the codec. */
export const MAX_APP_DATA = 64 * 1024;
