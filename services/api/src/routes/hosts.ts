import { Router } from "express";
import type { Redis } from "ioredis";
import { CreateHostBodySchema, DEFAULT_TEAM, DispatchBodySchema, HostIdSchema, IdSchema, PatchHostBodySchema } from "@tether/protocol";
import {
  actorOf,
  decideHost,
  dispatchCommand,
  type AuditLog,
  type Clock,
  type CommandStore,
  type DispatchDeps,
  type HostChannelMessage,
  type HostStore,
  type PartitionedKeys,
  publish,
  type TeamStore,
} from "@tether/core";
import { HttpError, parseOr400 } from "../errors";
import { allowOrThrow, forbidden, hostFor, unknownHost } from "../access";
import { principalOf } from "../middleware/auth";

export interface HostRoutesDeps {
  redis: Redis;
  keys: PartitionedKeys;
  hosts: HostStore;
  commands: CommandStore;
  teams: TeamStore;
  dispatch: DispatchDeps;
  audit: AuditLog;
  clock: Clock;
  nodeId: string;
}

/** `/api/hosts…` (CONTRACT §2, §4): every call asks the policy about the host first. */
export function hostRoutes(deps: HostRoutesDeps): Router {
  const router = Router();
  const revoke = (hostId: string) => {
    const msg: HostChannelMessage = { kind: "revoked", node: deps.nodeId };
    return publish(deps.redis, deps.keys.forHost(hostId).hostChannel(hostId), JSON.stringify(msg));
  };
  const checkTeam = async (teamId: string) => {
    if (!(await deps.teams.exists(teamId))) throw new HttpError(400, "invalid_request", `team_id: no such team ${teamId}`);
  };
  const id = (raw: string) => {
    const parsed = IdSchema.safeParse(raw);
    if (!parsed.success) throw unknownHost();
    return parsed.data;
  };

  // Only an id of the shape we issue goes on to a store (it becomes part of Redis key names);
  // any other is a host that does not exist.
  router.param("id", (_req, _res, next, id: string) => {
    next(HostIdSchema.safeParse(id).success ? undefined : new HttpError(404, "unknown_host", "no such host"));
  });

  router.post("/", async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "hosts.create");
    const { name, team_id = DEFAULT_TEAM } = parseOr400(CreateHostBodySchema, req.body);
    await checkTeam(team_id);
    const { host, token } = await deps.hosts.create(name, deps.clock.now(), team_id);
    await deps.audit.append({
      actor: actorOf(p),
      action: "host.created",
      target: { type: "host", id: host.id, name: host.name },
      detail: { team_id },
    });
    res.status(201).json({ host, token });
  });

  router.get("/", async (req, res) => {
    const p = principalOf(req);
    res.json({ hosts: (await deps.hosts.list()).filter((h) => decideHost(p, "view", h) === "allow") });
  });

  /** Addition: one host with its command history, newest first. */
  router.get("/:id", async (req, res) => {
    const host = await hostFor(deps.hosts, principalOf(req), id(req.params.id), "view");
    res.json({ host, commands: await deps.commands.history(host.id) });
  });

  router.patch("/:id", async (req, res) => {
    const p = principalOf(req);
    const before = await hostFor(deps.hosts, p, id(req.params.id), "manage");
    const body = parseOr400(PatchHostBodySchema, req.body);
    if (body.team_id !== undefined) await checkTeam(body.team_id);
    const host = await deps.hosts.patch(before.id, { name: body.name, teamId: body.team_id });
    if (!host) throw unknownHost();
    await deps.audit.append({
      actor: actorOf(p),
      action: "host.updated",
      target: { type: "host", id: host.id, name: host.name },
      detail: { ...body, ...(body.team_id !== undefined ? { from_team: before.team_id ?? DEFAULT_TEAM } : {}) },
    });
    res.json({ host });
  });

  router.post("/:id/token", async (req, res) => {
    const p = principalOf(req);
    const host = await hostFor(deps.hosts, p, id(req.params.id), "manage");
    const token = await deps.hosts.rotateToken(host.id);
    if (!token) throw unknownHost();
    await revoke(host.id);
    await deps.audit.append({ actor: actorOf(p), action: "host.token_rotated", target: { type: "host", id: host.id, name: host.name } });
    res.json({ token });
  });

  router.delete("/:id", async (req, res) => {
    const p = principalOf(req);
    const host = await hostFor(deps.hosts, p, id(req.params.id), "manage");
    if (!(await deps.hosts.remove(host.id))) throw unknownHost();
    await revoke(host.id);
    await deps.audit.append({ actor: actorOf(p), action: "host.deleted", target: { type: "host", id: host.id, name: host.name } });
    res.status(204).end();
  });

  router.post("/:id/commands", async (req, res) => {
    const hostId = id(req.params.id);
    const body = parseOr400(DispatchBodySchema, req.body);
    const out = await dispatchCommand(deps.dispatch, principalOf(req), {
      hostId,
      command: body.command,
      args: body.args,
      timeoutMs: body.timeout_ms,
    });
    if (!out.ok && out.code === "too_large") throw new HttpError(400, "invalid_request", out.message);
    if (!out.ok) throw out.code === "forbidden" ? forbidden() : unknownHost();
    res.status(202).json({ command: out.command });
  });

  /** Addition: the host's commands, newest first. */
  router.get("/:id/commands", async (req, res) => {
    const host = await hostFor(deps.hosts, principalOf(req), id(req.params.id), "view");
    res.json({ commands: await deps.commands.history(host.id) });
  });
  return router;
}
