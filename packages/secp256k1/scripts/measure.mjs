// Prints sign/s and recover/s of the noble and native secp256k1 implementations.
// Not a test: run `pnpm --filter @perun-ts/secp256k1 build && node packages/secp256k1/scripts/measure.mjs`.
// Each figure is the median of RUNS timed runs of about RUN_MS each (min..max in brackets).
import { keccak256, loadNativeSecp256k1, nobleSecp256k1 } from "../dist/index.js";

const RUNS = Number(process.env.RUNS ?? 7);
const RUN_MS = Number(process.env.RUN_MS ?? 400);
const text = new TextEncoder();

const secretKey = keccak256(text.encode("measure key"));
const digests = Array.from({ length: 256 }, (_, i) => keccak256(text.encode(`digest ${i}`)));

function opsPerSecond(op) {
  for (let i = 0; i < 50; i++) op(i); // warm up
  const rates = [];
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(RUN_MS) * 1_000_000n;
    let n = 0;
    let now = start;
    while (now < deadline) {
      for (let j = 0; j < 10; j++) op(n++);
      now = process.hrtime.bigint();
    }
    rates.push((n * 1e9) / Number(now - start));
  }
  rates.sort((a, b) => a - b);
  return { median: rates[Math.floor(rates.length / 2)], min: rates[0], max: rates[rates.length - 1] };
}

const fmt = ({ median, min, max }) =>
  `${Math.round(median).toLocaleString("en-US")}/s (${(1e6 / median).toFixed(1)} µs; ${Math.round(min)}..${Math.round(max)})`;

const impls = [nobleSecp256k1];
const native = loadNativeSecp256k1();
if (native) impls.push(native);
else console.log("native secp256k1 binding not available; measuring noble only");

console.log(`node ${process.version}, ${process.platform}-${process.arch}, ${RUNS} runs × ${RUN_MS} ms`);
for (const impl of impls) {
  const sigs = digests.map((d) => impl.sign(d, secretKey));
  const sign = opsPerSecond((i) => impl.sign(digests[i & 255], secretKey));
  const recover = opsPerSecond((i) => impl.recover(digests[i & 255], sigs[i & 255]));
  console.log(`${impl.name.padEnd(7)} sign    ${fmt(sign)}`);
  console.log(`${impl.name.padEnd(7)} recover ${fmt(recover)}`);
}
