import { describe, expect, it } from "vitest";
import { busSuite } from "./bus-suite.js";
import { account, makeCodec } from "./fixtures.test.helper.js";
import { LocalBus } from "./local-bus.js";
import { MessageType } from "./messages.js";
import { netNodes, socketDir } from "./net/net-fixtures.test.helper.js";

const framework = { describe, it };

busSuite(framework, "LocalBus", {
  async createEnvironment(n) {
    const bus = new LocalBus();
    return {
      clients: Array.from({ length: n }, (_, i) => ({ address: account(i).address, bus })),
      codec: makeCodec(),
      cleanup: () => bus.close(),
    };
  },
});

busSuite(framework, "serializing LocalBus", {
  async createEnvironment(n) {
    const bus = new LocalBus({ codec: makeCodec() });
    return {
      clients: Array.from({ length: n }, (_, i) => ({ address: account(i).address, bus })),
      codec: makeCodec(),
      cleanup: () => bus.close(),
    };
  },
});

for (const transport of ["tcp", "unix"] as const) {
  busSuite(framework, `NetBus over ${transport}`, {
    async createEnvironment(n) {
      const dir = socketDir();
      const nodes = await netNodes(n, transport, dir);
      return {
        clients: nodes.map((x) => ({ address: x.identity.address, bus: x.bus })),
        codec: makeCodec(),
        async cleanup() {
          await Promise.all(nodes.map((x) => x.bus.close()));
          dir.remove();
        },
      };
    },
  });
}

describe("bus suite self-check", () => {
  /** Collects the suite's test bodies instead of registering them. */
  function collect(setup: Parameters<typeof busSuite>[2]): Map<string, () => Promise<void>> {
    const bodies = new Map<string, () => Promise<void>>();
    busSuite({ describe: (_n, body) => body(), it: (name, body) => bodies.set(name, body) }, "faulty", setup);
    return bodies;
  }

  /** A LocalBus that delivers every ChannelProposalRej whose reason starts with "m 0->1" twice. */
  class DuplicatingBus extends LocalBus {
    override async publish(...args: Parameters<LocalBus["publish"]>): Promise<void> {
      await super.publish(...args);
      const m = args[0].message;
      if (m.type === MessageType.ChannelProposalRej && m.reason === "m 0->1 #3") await super.publish(...args);
    }
  }

  it("fails for a bus that delivers an extra envelope", async () => {
    const bodies = collect({
      async createEnvironment(n) {
        const bus = new DuplicatingBus();
        return {
          clients: Array.from({ length: n }, (_, i) => ({ address: account(i).address, bus })),
          codec: makeCodec(),
          cleanup: () => bus.close(),
        };
      },
    });
    const first = [...bodies.values()][0];
    await expect(first?.()).rejects.toThrow(/received \d+ envelopes, expected/);
  });
});
