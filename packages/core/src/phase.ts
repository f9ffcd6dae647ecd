/** Channel phases (spec §3.1); the numeric values are persisted and sent in channel sync. */
export enum Phase {
  InitActing = 0,
  InitSigning = 1,
  Funding = 2,
  Acting = 3,
  Signing = 4,
  Final = 5,
  Registering = 6,
  Registered = 7,
  Progressing = 8,
  Progressed = 9,
  Withdrawing = 10,
  Withdrawn = 11,
}

export const PHASE_COUNT = 12;

export function isPhase(v: unknown): v is Phase {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < PHASE_COUNT;
}

export function phaseName(p: Phase): string {
  return Phase[p] ?? `Phase(${p})`;
}
