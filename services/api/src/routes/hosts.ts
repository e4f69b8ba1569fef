import { Router } from "express";
import type { Redis } from "ioredis";
import { CreateHostBodySchema, DispatchBodySchema, HostIdSchema } from "@tether/protocol";
import {
  dispatchCommand,
  type Clock,
  type CommandStore,
  type DispatchDeps,
  type HostChannelMessage,
  type HostStore,
  type Keys,
} from "@tether/core";
import { HttpError, parseOr400 } from "../errors";

export interface HostRoutesDeps {
  redis: Redis;
  keys: Keys;
  hosts: HostStore;
  commands: CommandStore;
  dispatch: DispatchDeps;
  clock: Clock;
  nodeId: string;
}

/** `/api/hosts…` (CONTRACT §2). */
export function hostRoutes(deps: HostRoutesDeps): Router {
  const router = Router();
  const revoke = (hostId: string) => {
    const msg: HostChannelMessage = { kind: "revoked", node: deps.nodeId };
    return deps.redis.publish(deps.keys.hostChannel(hostId), JSON.stringify(msg));
  };

  // Only an id of the shape we issue goes on to a store (it becomes part of Redis key names);
  // any other is a host that does not exist.
  router.param("id", (_req, _res, next, id: string) => {
    next(HostIdSchema.safeParse(id).success ? undefined : new HttpError(404, "unknown_host", "no such host"));
  });

  router.post("/", async (req, res) => {
    const { name } = parseOr400(CreateHostBodySchema, req.body);
    const { host, token } = await deps.hosts.create(name, deps.clock.now());
    res.status(201).json({ host, token });
  });

  router.get("/", async (_req, res) => {
    res.json({ hosts: await deps.hosts.list() });
  });

  /** Addition: one host with its command history, newest first. */
  router.get("/:id", async (req, res) => {
    const host = await deps.hosts.get(req.params.id);
    if (!host) throw new HttpError(404, "unknown_host", "no such host");
    res.json({ host, commands: await deps.commands.history(host.id) });
  });

  router.post("/:id/token", async (req, res) => {
    const token = await deps.hosts.rotateToken(req.params.id);
    if (!token) throw new HttpError(404, "unknown_host", "no such host");
    await revoke(req.params.id);
    res.json({ token });
  });

  router.delete("/:id", async (req, res) => {
    if (!(await deps.hosts.remove(req.params.id))) throw new HttpError(404, "unknown_host", "no such host");
    await revoke(req.params.id);
    res.status(204).end();
  });

  router.post("/:id/commands", async (req, res) => {
    const body = parseOr400(DispatchBodySchema, req.body);
    const user = req.session.user!;
    const out = await dispatchCommand(
      deps.dispatch,
      { id: user.id },
      {
        hostId: req.params.id,
        command: body.command,
        args: body.args,
        timeoutMs: body.timeout_ms,
        requestedBy: { type: "user", id: user.id, name: user.username },
      },
    );
    if (!out.ok && out.code === "too_large") throw new HttpError(400, "invalid_request", out.message);
    if (!out.ok) throw new HttpError(404, "unknown_host", "no such host");
    res.status(202).json({ command: out.command });
  });

  /** Addition: the host's commands, newest first. */
  router.get("/:id/commands", async (req, res) => {
    res.json({ commands: await deps.commands.history(req.params.id) });
  });
  return router;
}
