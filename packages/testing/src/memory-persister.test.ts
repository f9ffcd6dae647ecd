// core's in-memory PersistRestorer against the generic persister suite.
import { MemoryPersistRestorer } from "@perun-ts/core";
import { persistRestorerSuite } from "./persist-restorer-suite.js";

persistRestorerSuite({
  name: "MemoryPersistRestorer",
  create: () => new MemoryPersistRestorer(),
  // the same object survives close(), which is what a restart means for an in-memory store
  reopen: async (old) => old,
});
