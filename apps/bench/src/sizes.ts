/** How big each benchmark is; `--quick` shrinks everything to seconds (figures then mean little). */
export interface Sizes {
  readonly cryptoRounds: number;
  readonly updateSeq: { readonly updates: number; readonly warmup: number };
  readonly updatePar: {
    readonly channels: readonly number[];
    readonly updatesTotal: number;
    readonly warmup: number;
  };
  readonly open: { readonly count: number };
  readonly scale: { readonly channels: number; readonly concurrency: number };
}

export const FULL: Sizes = {
  cryptoRounds: 7,
  updateSeq: { updates: 2_000, warmup: 100 },
  updatePar: { channels: [16, 64], updatesTotal: 4_096, warmup: 4 },
  open: { count: 100 },
  scale: { channels: 10_000, concurrency: 64 },
};

export const QUICK: Sizes = {
  cryptoRounds: 2,
  updateSeq: { updates: 30, warmup: 3 },
  updatePar: { channels: [4, 8], updatesTotal: 32, warmup: 1 },
  open: { count: 3 },
  scale: { channels: 40, concurrency: 8 },
};
