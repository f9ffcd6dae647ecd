import {
  appsEqual,
  bytesEqual,
  type Params,
  type PersistedChannel,
  phaseName,
  stateEquals,
  type Transaction,
  toHex,
} from "@perun-ts/core";

/**
 * The first difference between two persisted channels, as a readable sentence, or `undefined`
 * if they are equal (params compared field by field, states with `stateEquals`, signatures and
 * ids by bytes, peers with `Address.equals`).
 */
export function persistedChannelDiff(
  expected: PersistedChannel,
  actual: PersistedChannel,
): string | undefined {
  if (!bytesEqual(expected.id, actual.id))
    return `id: expected ${toHex(expected.id)}, got ${toHex(actual.id)}`;
  if (expected.idx !== actual.idx) return `idx: expected ${expected.idx}, got ${actual.idx}`;
  if (expected.phase !== actual.phase) {
    return `phase: expected ${phaseName(expected.phase)}, got ${phaseName(actual.phase)}`;
  }
  const p = paramsDiff(expected.params, actual.params);
  if (p) return `params.${p}`;
  const c = transactionDiff(expected.current, actual.current);
  if (c) return `current.${c}`;
  const s = transactionDiff(expected.staging, actual.staging);
  if (s) return `staging.${s}`;
  if (expected.peers.length !== actual.peers.length) {
    return `peers: expected ${expected.peers.length}, got ${actual.peers.length}`;
  }
  for (const [i, peer] of expected.peers.entries()) {
    const got = actual.peers[i];
    if (!got || !peer.equals(got)) return `peers[${i}]: expected ${peer.toString()}, got ${String(got)}`;
  }
  const ep = expected.parent;
  const ap = actual.parent;
  if ((ep === undefined) !== (ap === undefined) || (ep && ap && !bytesEqual(ep, ap))) {
    return `parent: expected ${ep ? toHex(ep) : "none"}, got ${ap ? toHex(ap) : "none"}`;
  }
  return undefined;
}

function paramsDiff(e: Params, a: Params): string | undefined {
  if (!bytesEqual(e.id, a.id)) return "id differs";
  if (e.challengeDuration !== a.challengeDuration) return "challengeDuration differs";
  if (e.nonce !== a.nonce) return "nonce differs";
  if (e.ledgerChannel !== a.ledgerChannel) return "ledgerChannel differs";
  if (e.virtualChannel !== a.virtualChannel) return "virtualChannel differs";
  if (!appsEqual(e.app, a.app)) return "app differs";
  if (e.parts.length !== a.parts.length) return "parts length differs";
  for (const [i, x] of e.parts.entries()) {
    const y = a.parts[i];
    if (!y || !x.equals(y)) return `parts[${i}] differs`;
  }
  return undefined;
}

function transactionDiff(e: Transaction, a: Transaction): string | undefined {
  if ((e.state === undefined) !== (a.state === undefined)) {
    return `state: expected ${e.state ? "a state" : "none"}, got ${a.state ? "a state" : "none"}`;
  }
  if (e.state && a.state && !stateEquals(e.state, a.state))
    return `state differs (expected version ${e.state.version}, got ${a.state.version})`;
  // An absent state may be persisted with no slots or with empty slots.
  const n = Math.max(e.sigs.length, a.sigs.length);
  if (e.state !== undefined && e.sigs.length !== a.sigs.length) {
    return `sigs: expected ${e.sigs.length} slots, got ${a.sigs.length}`;
  }
  for (let i = 0; i < n; i++) {
    const x = e.sigs[i];
    const y = a.sigs[i];
    if ((x === undefined) !== (y === undefined))
      return `sigs[${i}]: expected ${x ? "present" : "missing"}, got ${y ? "present" : "missing"}`;
    if (x && y && !bytesEqual(x, y)) return `sigs[${i}] differs`;
  }
  return undefined;
}
