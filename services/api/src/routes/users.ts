import { Router } from "express";
import type { Redis } from "ioredis";
import { CreateUserBodySchema, IdSchema, PatchUserBodySchema, type User } from "@tether/protocol";
import { actorOf, type ApiTokenStore, type AuditLog, type Clock, type GlobalKeys, type TeamStore, type UserStore } from "@tether/core";
import { HttpError, parseOr400 } from "../errors";
import { allowOrThrow } from "../access";
import { principalOf } from "../middleware/auth";
import { announceUser } from "../rights";

export interface UserRoutesDeps {
  redis: Redis;
  keys: GlobalKeys;
  users: UserStore;
  teams: TeamStore;
  apiTokens: ApiTokenStore;
  audit: AuditLog;
  clock: Clock;
  nodeId: string;
}

const lastAdmin = () => new HttpError(409, "last_admin", "the last admin cannot be deleted or demoted");
const noSuchUser = () => new HttpError(404, "unknown_user", "no such user");

/** `/api/users` (CONTRACT §4): admins only. */
export function userRoutes(deps: UserRoutesDeps): Router {
  const router = Router();
  router.use((req, _res, next) => {
    allowOrThrow(principalOf(req), "users.manage");
    next();
  });

  /** Teams named must exist: a typo would otherwise silently grant nothing. */
  const checkTeams = async (teams: string[] | null | undefined) => {
    if (!teams) return;
    const missing = await deps.teams.missing(teams);
    if (missing.length) throw new HttpError(400, "invalid_request", `teams: no such team ${missing.join(", ")}`);
  };

  router.get("/", async (_req, res) => {
    res.json({ users: await deps.users.list() });
  });

  router.post("/", async (req, res) => {
    const body = parseOr400(CreateUserBodySchema, req.body);
    await checkTeams(body.teams);
    // A user created without teams sees the `default` team (an admin: every team).
    const teams = body.teams === undefined ? ["default"] : body.teams;
    const user = await deps.users.create({
      username: body.username,
      password: body.password,
      role: body.role,
      teams,
      now: deps.clock.now(),
    });
    if (!user) throw new HttpError(409, "username_taken", `username ${body.username} exists`);
    await deps.audit.append({
      actor: actorOf(principalOf(req)),
      action: "user.created",
      target: { type: "user", id: user.id, name: user.username },
      detail: { role: user.role, teams: user.teams },
    });
    res.status(201).json({ user });
  });

  router.patch("/:id", async (req, res) => {
    const id = parseOr400(IdSchema, req.params.id);
    const body = parseOr400(PatchUserBodySchema, req.body);
    await checkTeams(body.teams);
    const out = await deps.users.update(id, body);
    if (out.result === "missing") throw noSuchUser();
    if (out.result === "last_admin") throw lastAdmin();
    const before = out.before!;
    const after = out.after!;
    if (rightsChanged(before, after)) await announceUser(deps, id, "user_changed");
    await deps.audit.append({
      actor: actorOf(principalOf(req)),
      action: "user.updated",
      target: { type: "user", id, name: after.username },
      detail: {
        ...(body.role !== undefined ? { role: after.role } : {}),
        ...(body.teams !== undefined ? { teams: after.teams } : {}),
        ...(body.password !== undefined ? { password: "changed" } : {}),
      },
    });
    res.json({ user: after });
  });

  router.delete("/:id", async (req, res) => {
    const id = parseOr400(IdSchema, req.params.id);
    const out = await deps.users.remove(id);
    if (out.result === "missing") throw noSuchUser();
    if (out.result === "last_admin") throw lastAdmin();
    // The record is gone: its sessions and tokens already fail (they read it on every use);
    // the tokens' records go too, and its open sockets close with 4401.
    await deps.apiTokens.removeAllOf(id);
    await announceUser(deps, id, "user_deleted");
    await deps.audit.append({
      actor: actorOf(principalOf(req)),
      action: "user.deleted",
      target: { type: "user", id, name: out.before!.username },
    });
    res.status(204).end();
  });
  return router;
}

function rightsChanged(a: User, b: User): boolean {
  return a.role !== b.role || JSON.stringify(a.teams) !== JSON.stringify(b.teams);
}
