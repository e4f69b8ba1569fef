import { Router } from "express";
import { CreateApiTokenBodySchema, IdSchema, type ApiToken } from "@tether/protocol";
import {
  actorOf,
  decideToken,
  decideTokenCreate,
  tokenListScope,
  type ApiTokenStore,
  type AuditLog,
  type Clock,
  type StoredApiToken,
  type UserStore,
} from "@tether/core";
import { HttpError, parseOr400 } from "../errors";
import { allowOrThrow, forbidden } from "../access";
import { principalOf } from "../middleware/auth";

const unknownToken = () => new HttpError(404, "unknown_token", "no such API token");

/** `/api/tokens` (CONTRACT §4): a user's API tokens; admins see and revoke everyone's. */
export function tokenRoutes(deps: { apiTokens: ApiTokenStore; users: UserStore; audit: AuditLog; clock: Clock }): Router {
  const router = Router();

  const view = async (r: StoredApiToken): Promise<ApiToken> => {
    const owner = await deps.users.get(r.owner_id);
    return {
      id: r.id,
      name: r.name,
      role: r.role,
      created_at: r.created_at,
      expires_at: r.expires_at,
      owner: { id: r.owner_id, username: owner?.username ?? "" },
    };
  };

  router.post("/", async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "tokens.own");
    const body = parseOr400(CreateApiTokenBodySchema, req.body);
    const role = body.role ?? p.role;
    // At most the owner's role: a token can never do more than the person who made it.
    if (decideTokenCreate(p, role) !== "allow") throw forbidden();
    const now = deps.clock.now();
    const expiresAt = body.expires_at ?? null;
    if (expiresAt !== null && expiresAt <= now) throw new HttpError(400, "invalid_request", "expires_at: must be in the future");
    const { token, record } = await deps.apiTokens.create({ ownerId: p.userId, name: body.name, role, expiresAt, now });
    await deps.audit.append({
      actor: actorOf(p),
      action: "token.created",
      target: { type: "token", id: record.id, name: record.name },
      detail: { role, expires_at: expiresAt },
    });
    res.status(201).json({ token, api_token: await view(record) });
  });

  router.get("/", async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "tokens.own");
    // Admins see every token (to revoke a leaked one); anyone else its own.
    const all = await deps.apiTokens.list(tokenListScope(p));
    res.json({ api_tokens: await Promise.all(all.map(view)) });
  });

  router.delete("/:id", async (req, res) => {
    const p = principalOf(req);
    allowOrThrow(p, "tokens.own");
    const id = parseOr400(IdSchema, req.params.id);
    const record = await deps.apiTokens.readRecord(id);
    if (!record || decideToken(p, record.owner_id) !== "allow") throw unknownToken();
    if (!(await deps.apiTokens.remove(id))) throw unknownToken();
    await deps.audit.append({ actor: actorOf(p), action: "token.revoked", target: { type: "token", id, name: record.name } });
    res.status(204).end();
  });
  return router;
}
