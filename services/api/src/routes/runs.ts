import { randomUUID } from "node:crypto";
import { Router } from "express";
import {
  CreateRunBodySchema,
  FINAL_COMMAND_STATUSES,
  RunIdSchema,
  RunsQuerySchema,
  type Command,
  type Host,
  type Run,
  type RunTarget,
} from "@tether/protocol";
import {
  actorOf,
  cancelCommand,
  commandFrameTooLarge,
  decideHost,
  expireJobId,
  hostTeam,
  newCommandId,
  requestedBy,
  zeroCounts,
  type AuditLog,
  type Clock,
  type DispatchDeps,
  type ExpireJob,
  type HostStore,
  type Principal,
  type RunEngine,
  type RunStore,
} from "@tether/core";
import { HttpError, parseOr400 } from "../errors";
import { forbidden } from "../access";
import { principalOf } from "../middleware/auth";

export interface RunRoutesDeps {
  hosts: HostStore;
  runs: RunStore;
  runEngine: RunEngine;
  dispatch: DispatchDeps;
  audit: AuditLog;
  clock: Clock;
  /** MAX_RUN_HOSTS: most hosts one run may target. */
  maxRunHosts: number;
  /** COMMAND_TTL_MS: how long each command of a run may wait, from the run's creation. */
  commandTtlMs: number;
}

const unknownRun = () => new HttpError(404, "unknown_run", "no such run");

/**
 * The hosts a target names, among those `p` may see (CONTRACT §6: every host matching ALL the
 * given fields). A host id `p` may not see is unknown, exactly like one that does not exist.
 */
export function matchTarget(hosts: Host[], target: RunTarget, p: Principal): Host[] {
  const visible = hosts.filter((h) => decideHost(p, "view", h) !== "hidden");
  if (target.host_ids) {
    const known = new Set(visible.map((h) => h.id));
    const missing = target.host_ids.find((id) => !known.has(id));
    if (missing !== undefined) throw new HttpError(400, "unknown_host", `target.host_ids: no host ${missing}`);
  }
  const ids = target.host_ids ? new Map(target.host_ids.map((id, i) => [id, i])) : null;
  const labels = Object.entries(target.labels ?? {});
  const matched = visible.filter(
    (h) =>
      (!ids || ids.has(h.id)) &&
      (target.team_id === undefined || hostTeam(h) === target.team_id) &&
      labels.every(([k, v]) => h.labels?.[k] === v),
  );
  // In the order the ids were given: the order the window releases them.
  return ids ? matched.sort((a, b) => ids.get(a.id)! - ids.get(b.id)!) : matched;
}

/** May `p` see (`view`) or cancel (`operate`) this run? As for a host of its team. */
function decideRun(p: Principal, action: "view" | "operate", run: Run) {
  return decideHost(p, action, { team_id: run.team_id });
}

/** `/api/runs…` (CONTRACT §6): one command to many hosts. */
export function runRoutes(deps: RunRoutesDeps): Router {
  const router = Router();
  // Only an id of the shape we issue reaches a store; any other is a run that does not exist.
  router.param("id", (_req, _res, next, id: string) => {
    next(RunIdSchema.safeParse(id).success ? undefined : unknownRun());
  });

  router.post("/", async (req, res) => {
    const p = principalOf(req);
    const body = parseOr400(CreateRunBodySchema, req.body);
    const tooLarge = commandFrameTooLarge(
      { command: body.command, args: body.args, timeoutMs: body.timeout_ms },
      deps.dispatch.maxFrameBytes,
    );
    if (tooLarge) throw new HttpError(400, "invalid_request", tooLarge.message);
    const targets = matchTarget(await deps.hosts.list(), body.target, p);
    if (targets.length === 0) throw new HttpError(400, "empty_target", "target: no host matches it");
    // The role is asked of every host (all of the caller's teams): a viewer may create none.
    if (targets.some((h) => decideHost(p, "operate", h) !== "allow")) throw forbidden();
    if (targets.length > deps.maxRunHosts) {
      throw new HttpError(400, "too_many_hosts", `target: matches ${targets.length} hosts, more than MAX_RUN_HOSTS (${deps.maxRunHosts})`);
    }
    // A run lives in one team: its events go to those who see that team, and no one else.
    const teams = [...new Set(targets.map(hostTeam))];
    if (teams.length > 1) {
      throw new HttpError(
        400,
        "several_teams",
        `target: matches hosts of ${teams.length} teams (${teams.join(", ")}); name target.team_id`,
      );
    }
    const now = deps.clock.now();
    const args = body.args ?? [];
    const by = requestedBy(p);
    const run: Run = {
      id: randomUUID(),
      command: body.command,
      args,
      status: "running",
      counts: { ...zeroCounts(), queued: targets.length },
      total: targets.length,
      created_at: now,
      requested_by: by,
      team_id: teams[0]!,
      target: body.target,
      ...(body.timeout_ms !== undefined ? { timeout_ms: body.timeout_ms } : {}),
      ...(body.max_parallel !== undefined ? { max_parallel: body.max_parallel } : {}),
      stop_on_failure: body.stop_on_failure ?? false,
    };
    // Each command signed for its own host, here where the request is accepted (CONTRACT §5); its
    // id names its host's partition (LOG_PARTITIONS), where it is recorded and counted.
    const commands: Command[] = targets.map((h) =>
      deps.dispatch.signer.sign(
        {
          id: newCommandId(h.id, deps.runs.partitions),
          host_id: h.id,
          command: body.command,
          args,
          status: "queued",
          created_at: now,
          exit_code: null,
          run_id: run.id,
          ...(body.timeout_ms !== undefined ? { timeout_ms: body.timeout_ms } : {}),
        },
        by,
      ),
    );
    // Every TTL is armed before any command exists, so none can wait for ever (CONTRACT §3).
    await deps.dispatch.queue.addBulk(
      commands.map((c) => ({
        name: "expire",
        data: { command_id: c.id } satisfies ExpireJob,
        opts: { jobId: expireJobId(c.id), delay: deps.commandTtlMs, removeOnComplete: true, removeOnFail: 100 },
      })),
    );
    await deps.runs.create(run, commands, now);
    await deps.audit.append({
      actor: actorOf(p),
      action: "run.created",
      target: { type: "run", id: run.id },
      detail: {
        command: run.command,
        args: run.args,
        team_id: run.team_id,
        total: run.total,
        ...(run.max_parallel !== undefined ? { max_parallel: run.max_parallel } : {}),
        stop_on_failure: run.stop_on_failure ?? false,
      },
    });
    // The first window goes out before the answer; a crash here leaves the run dirty for the sweep.
    await deps.runEngine.kick(run.id);
    res.status(202).json({ run: (await deps.runs.get(run.id)) ?? run });
  });

  router.get("/", async (req, res) => {
    const p = principalOf(req);
    const q = parseOr400(RunsQuerySchema, req.query);
    let before = q.before;
    // A `before` run the caller may not see is as unknown as one that does not exist.
    if (before !== undefined) {
      const b = await deps.runs.base(before);
      if (!b || decideRun(p, "view", b) === "hidden") before = "";
    }
    const runs = before === "" ? null : await deps.runs.list(q.limit, before, (r) => decideRun(p, "view", r) === "allow");
    if (runs === null) throw new HttpError(400, "invalid_request", "before: no such run");
    res.json({ runs });
  });

  /** The run, if `p` may do `action` to it: else 404 (invisible) or 403 (role). */
  const runFor = async (p: Principal, id: string, action: "view" | "operate"): Promise<Run> => {
    const run = await deps.runs.get(id);
    if (!run) throw unknownRun();
    const decision = decideRun(p, action, run);
    if (decision === "hidden") throw unknownRun();
    if (decision === "forbidden") throw forbidden();
    return run;
  };

  router.get("/:id", async (req, res) => {
    const run = await runFor(principalOf(req), String(req.params.id), "view");
    res.json({ run, commands: await deps.runs.commandsOf(run.id) });
  });

  router.post("/:id/cancel", async (req, res) => {
    const p = principalOf(req);
    const run = await runFor(p, String(req.params.id), "operate");
    if (run.status !== "running") throw new HttpError(409, "run_finished", "the run already finished");
    if (await deps.runs.requestCancel(run.id)) {
      await deps.audit.append({ actor: actorOf(p), action: "run.cancelled", target: { type: "run", id: run.id } });
    }
    // The step cancels what is still queued (held or waiting for its host); a running command is
    // stopped on its host as any cancel (CONTRACT §3), audited once here as the run's.
    await deps.runEngine.kick(run.id);
    for (const cmd of await deps.runs.commandsOf(run.id)) {
      if (!FINAL_COMMAND_STATUSES.has(cmd.status)) await cancelCommand(deps.dispatch, p, cmd.id, { audit: false });
    }
    res.status(202).json({ run: await deps.runs.get(run.id) });
  });
  return router;
}
