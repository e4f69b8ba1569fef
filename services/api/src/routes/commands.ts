import { Router } from "express";
import { CommandIdSchema } from "@tether/protocol";
import { cancelCommand, decideCommand, type CommandStore, type DispatchDeps, type HostStore } from "@tether/core";
import { HttpError } from "../errors";
import { forbidden } from "../access";
import { principalOf } from "../middleware/auth";

const unknownCommand = () => new HttpError(404, "unknown_command", "no such command");

/** `/api/commands/:id` and cancel (CONTRACT §2): a command is as visible as its host. */
export function commandRoutes(deps: { commands: CommandStore; hosts: HostStore; dispatch: DispatchDeps }): Router {
  const router = Router();
  // Only an id of the shape we issue reaches a store; any other is a command that does not exist.
  router.param("id", (_req, _res, next, id: string) => {
    next(CommandIdSchema.safeParse(id).success ? undefined : new HttpError(404, "unknown_command", "no such command"));
  });

  router.get("/:id", async (req, res) => {
    const id = CommandIdSchema.safeParse(req.params.id);
    const command = id.success ? await deps.commands.get(id.data) : null;
    if (!command) throw unknownCommand();
    if (decideCommand(principalOf(req), "view", await deps.hosts.get(command.host_id)) !== "allow") throw unknownCommand();
    res.json({ command, output: await deps.commands.output(command.id) });
  });

  router.post("/:id/cancel", async (req, res) => {
    const id = CommandIdSchema.safeParse(req.params.id);
    if (!id.success) throw unknownCommand();
    const result = await cancelCommand(deps.dispatch, principalOf(req), id.data);
    if (result === "unknown_command") throw unknownCommand();
    if (result === "forbidden") throw forbidden();
    if (result === "already_final") throw new HttpError(409, "command_finished", "the command already finished");
    res.status(202).json({ command: await deps.commands.get(id.data) });
  });
  return router;
}
