// The demo's entry point (the perun CLI node replaces this walkthrough once the client lands).
import { runModelWalkthrough } from "./model-walkthrough.js";

try {
  const balances = await runModelWalkthrough();
  console.log(`done: Alice ${balances[0]}, Bob ${balances[1]}`);
} catch (err) {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
