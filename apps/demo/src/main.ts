#!/usr/bin/env node
// The `perun` command: see cli/cli.ts for the subcommands.
import { runCli } from "./cli/cli.js";

// `pnpm demo -- --backend sim` may pass the separator through.
const args = process.argv.slice(2);
process.exitCode = await runCli(args[0] === "--" ? args.slice(1) : args);
