import type { RequestHandler } from "express";
import type { User } from "@tether/protocol";
import { HttpError } from "../errors";

declare module "express-session" {
  interface SessionData {
    user: User;
  }
}

/** Every `/api/*` call but login needs a live session. */
export const requireSession: RequestHandler = (req, _res, next) => {
  if (req.session?.user) return next();
  next(new HttpError(401, "unauthenticated", "log in first"));
};
