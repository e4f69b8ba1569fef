import type { WebSocket } from "ws";
import type { z } from "zod";
import { CloseCode, ErrorCode } from "@tether/protocol";
import type { Clock } from "@tether/core";

/** More than this many bad frames within `BAD_FRAME_WINDOW_MS` close the socket with 1008. */
export const MAX_BAD_FRAMES = 10;
export const BAD_FRAME_WINDOW_MS = 60_000;

/** What a socket keeps for the flood limit: the times of its recent bad frames (made at the first). */
export interface BadFrames {
  badAt?: number[] | undefined;
}

/**
 * The frame rules of one kind of socket (its schema, the flood limit), shared by every socket of
 * that kind: parses inbound frames and polices bad ones (CONTRACT §3). Each bad frame gets an
 * `error` frame with `invalid_message`; the socket stays open until the flood limit. The only
 * state a socket needs of its own is {@link BadFrames}, and only once it sent a bad frame: an
 * idle fleet of 10,000 agents holds no per-socket guard (issue 15.4).
 */
export class FramePolicy<S extends z.ZodType> {
  constructor(
    private readonly schema: S,
    private readonly clock: Clock,
    private readonly onBad: (code: string) => void,
  ) {}

  /** The parsed frame, or undefined after answering the client with an error. */
  parse(ws: WebSocket, state: BadFrames, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): z.infer<S> | undefined {
    if (isBinary) return this.reject(ws, state, ErrorCode.INVALID_MESSAGE, "frames must be JSON text");
    let json: unknown;
    try {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data));
      json = JSON.parse(buf.toString("utf8"));
    } catch {
      return this.reject(ws, state, ErrorCode.INVALID_MESSAGE, "frame is not valid JSON");
    }
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "frame";
      return this.reject(ws, state, ErrorCode.INVALID_MESSAGE, `${where}: ${issue?.message ?? "invalid"}`);
    }
    return parsed.data;
  }

  /** Answer with an `error` frame and count it toward the flood limit. */
  reject(ws: WebSocket, state: BadFrames, code: string, message: string): undefined {
    this.onBad(code);
    sendError(ws, code, message);
    const now = this.clock.now();
    const badAt = (state.badAt ?? []).filter((t) => now - t < BAD_FRAME_WINDOW_MS);
    badAt.push(now);
    state.badAt = badAt;
    if (badAt.length > MAX_BAD_FRAMES) ws.close(CloseCode.POLICY_VIOLATION, "too many bad frames");
    return undefined;
  }
}

/** {@link FramePolicy} bound to one socket (browsers: few sockets, each with its own guard). */
export class FrameGuard<S extends z.ZodType> {
  private readonly policy: FramePolicy<S>;
  private readonly state: BadFrames = {};

  constructor(
    private readonly ws: WebSocket,
    schema: S,
    clock: Clock,
    onBad: (code: string) => void,
  ) {
    this.policy = new FramePolicy(schema, clock, onBad);
  }

  /** The parsed frame, or undefined after answering the client with an error. */
  parse(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): z.infer<S> | undefined {
    return this.policy.parse(this.ws, this.state, data, isBinary);
  }

  /** Answer with an `error` frame and count it toward the flood limit. */
  reject(code: string, message: string): undefined {
    return this.policy.reject(this.ws, this.state, code, message);
  }
}

/** Send an `error` frame (CONTRACT §3), about one command when `commandId` is given. */
export function sendError(ws: WebSocket, code: string, message: string, commandId?: string): void {
  const payload = commandId === undefined ? { code, message } : { code, message, command_id: commandId };
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "error", payload }));
}
