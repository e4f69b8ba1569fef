/**
 * `dispatch`: browser `dispatch` frame on hub B → `command` frame at the agent on hub A, through
 * BullMQ and the worker. Sequential: the next dispatch goes out when the previous command arrived.
 */
import { Generator, stopAll } from "../lib/generators";
import { Histogram, summarize } from "../lib/hist";
import { sized, target, type Ctx, type Scenario } from "../lib/scenario";

export const dispatch: Scenario = {
  name: "dispatch",
  async run(ctx: Ctx) {
    const count = sized(ctx, 300, 300, 20);
    const [host] = await ctx.tether.createHosts(`dispatch-${Date.now()}`, 1);
    const gen = await Generator.start("dispatch-gen");
    try {
      const redisEnd = await ctx.tether.redisCpu.start();
      const r = await gen.call("dispatchRun", {
        browserUrl: ctx.tether.hubB.wsUrl,
        cookie: ctx.tether.cookie,
        origin: ctx.tether.origin,
        agentUrl: ctx.tether.hubA.wsUrl,
        token: host!.token,
        hostId: host!.id,
        count,
        timeoutMs: 5000,
      });
      // Per frame = per command (BullMQ job, the worker's delivery, the agent's finish), the agent's connect included.
      const redis = await redisEnd(r.sent);
      const l = summarize(Histogram.from(r.hist));
      return {
        scenario: "dispatch",
        rows: [
          {
            scenario: "dispatch",
            case: "browser dispatch (hub B) → agent command (hub A)",
            system: "tether",
            n: l.n,
            p50: l.p50,
            p99: l.p99,
            p999: l.p999,
            max: l.max,
            delivery: {
              receivers: 1,
              expectedEach: r.sent,
              missing: r.sent - r.received,
              duplicates: r.duplicates,
              reordered: r.reordered,
              idOrderErrors: 0,
            },
            note: "sequential, one hop: api/hub → Redis → agent's hub",
            redis,
          },
        ],
        targets: [target("dispatch p99", l.p99, "<=", 10, " ms")],
        notes: [],
      };
    } finally {
      await stopAll([gen]);
    }
  },
};
