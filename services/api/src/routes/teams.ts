import { Router } from "express";
import { CreateTeamBodySchema } from "@tether/protocol";
import { actorOf, type AuditLog, type TeamStore } from "@tether/core";
import { HttpError, parseOr400 } from "../errors";
import { allowOrThrow } from "../access";
import { principalOf } from "../middleware/auth";

/** `/api/teams` (CONTRACT §4): anyone lists, admins create. */
export function teamRoutes(deps: { teams: TeamStore; audit: AuditLog }): Router {
  const router = Router();
  router.get("/", async (req, res) => {
    allowOrThrow(principalOf(req), "teams.list");
    res.json({ teams: await deps.teams.list() });
  });
  router.post("/", async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "teams.create");
    const { name } = parseOr400(CreateTeamBodySchema, req.body);
    const team = await deps.teams.create(name);
    if (!team) throw new HttpError(409, "team_exists", `a team with the id of ${name} exists`);
    await deps.audit.append({ actor: actorOf(p), action: "team.created", target: { type: "team", id: team.id, name: team.name } });
    res.status(201).json({ team });
  });
  return router;
}
