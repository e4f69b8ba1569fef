import type { WebSocket } from "ws";
import type { z } from "zod";
import { CloseCode, ErrorCode } from "@tether/protocol";
import type { Clock } from "@tether/core";

/** More than this many bad frames within `BAD_FRAME_WINDOW_MS` close the socket with 1008. */
export const MAX_BAD_FRAMES = 10;
export const BAD_FRAME_WINDOW_MS = 60_000;

/**
 * Parses inbound frames against a schema and polices bad ones (CONTRACT §3): each bad frame gets
 * an `error` frame with `invalid_message`; the socket stays open until the flood limit.
 */
export class FrameGuard<S extends z.ZodType> {
  private badAt: number[] = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly schema: S,
    private readonly clock: Clock,
    private readonly onBad: (code: string) => void,
  ) {}

  /** The parsed frame, or undefined after answering the client with an error. */
  parse(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): z.infer<S> | undefined {
    if (isBinary) return this.reject(ErrorCode.INVALID_MESSAGE, "frames must be JSON text");
    let json: unknown;
    try {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data));
      json = JSON.parse(buf.toString("utf8"));
    } catch {
      return this.reject(ErrorCode.INVALID_MESSAGE, "frame is not valid JSON");
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "frame";
      return this.reject(ErrorCode.INVALID_MESSAGE, `${where}: ${issue?.message ?? "invalid"}`);
    }
    return parsed.data;
  }

  /** Answer with an `error` frame and count it toward the flood limit. */
  reject(code: string, message: string): undefined {
    this.onBad(code);
    sendError(this.ws, code, message);
    const now = this.clock.now();
    this.badAt.push(now);
    this.badAt = this.badAt.filter((t) => now - t < BAD_FRAME_WINDOW_MS);
    if (this.badAt.length > MAX_BAD_FRAMES) this.ws.close(CloseCode.POLICY_VIOLATION, "too many bad frames");
    return undefined;
  }
}

/** Send an `error` frame (CONTRACT §3), about one command when `commandId` is given. */
export function sendError(ws: WebSocket, code: string, message: string, commandId?: string): void {
  const payload = commandId === undefined ? { code, message } : { code, message, command_id: commandId };
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "error", payload }));
}
