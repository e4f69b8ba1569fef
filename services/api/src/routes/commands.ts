import { Router } from "express";
import { cancelCommand, type CommandStore, type DispatchDeps } from "@tether/core";
import { CommandIdSchema } from "@tether/protocol";
import { HttpError } from "../errors";

/** `/api/commands/:id` and cancel (CONTRACT §2). */
export function commandRoutes(deps: { commands: CommandStore; dispatch: DispatchDeps }): Router {
  const router = Router();
  // Only an id of the shape we issue reaches a store; any other is a command that does not exist.
  router.param("id", (_req, _res, next, id: string) => {
    next(CommandIdSchema.safeParse(id).success ? undefined : new HttpError(404, "unknown_command", "no such command"));
  });

  router.get("/:id", async (req, res) => {
    const command = await deps.commands.get(req.params.id);
    if (!command) throw new HttpError(404, "unknown_command", "no such command");
    res.json({ command, output: await deps.commands.output(command.id) });
  });

  router.post("/:id/cancel", async (req, res) => {
    const result = await cancelCommand(deps.dispatch, { id: req.session.user!.id }, req.params.id);
    if (result === "unknown_command") throw new HttpError(404, "unknown_command", "no such command");
    if (result === "already_final") throw new HttpError(409, "command_finished", "the command already finished");
    res.status(202).json({ command: await deps.commands.get(req.params.id) });
  });
  return router;
}
