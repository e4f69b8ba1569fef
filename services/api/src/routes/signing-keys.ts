import { Router } from "express";
import type { CommandSigner } from "@tether/core";

/**
 * `GET /api/signing-keys` (CONTRACT §5): the public keys agents verify commands with, the current
 * one first, then those still listed in COMMAND_SIGNING_KEYS_PREVIOUS. Public by design: no
 * session, no secret, and a cache hint since they change only with a restart.
 */
export function signingKeyRoutes(deps: { signer: CommandSigner }): Router {
  const router = Router();
  router.get("/", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=60");
    res.json({ keys: deps.signer.publicKeys() });
  });
  return router;
}
