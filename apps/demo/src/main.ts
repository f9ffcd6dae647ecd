#!/usr/bin/env node
// The `perun` command: see cli/cli.ts for the subcommands.
import { runCli } from "./cli/cli.js";

process.exitCode = await runCli(process.argv.slice(2));
