/**
 * WebSocket close codes Tether uses (CONTRACT §3). One table, so every side agrees.
 */
export const CloseCode = {
  /** Normal closure. */
  NORMAL: 1000,
  /** Hub shutting down: reconnect at once, with jitter. */
  GOING_AWAY: 1001,
  /** Too many bad frames (or a flood): a policy violation. */
  POLICY_VIOLATION: 1008,
  /** A frame over `MAX_MESSAGE_BYTES`. */
  MESSAGE_TOO_BIG: 1009,
  /** Slow consumer or overload: reconnect with backoff and resume with `?after=`. */
  TRY_AGAIN_LATER: 1013,
  /** Replaced by a newer connection with the same token: do not reconnect. */
  REPLACED: 4001,
  /** Credentials revoked, rotated or logged out: do not retry with them. */
  REVOKED: 4401,
  /** CONTRACT §4: the user's role or teams changed; reconnect and the new rights apply. */
  RIGHTS_CHANGED: 4403,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes after which a client must not reconnect with the same credentials. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.REPLACED, CloseCode.REVOKED]);

/** `code` values of `error` frames. Tests assert these, never the prose. */
export const ErrorCode = {
  /** Not JSON, or does not match its schema. */
  INVALID_MESSAGE: "invalid_message",
  /** An agent frame sent before `register`. */
  NOT_REGISTERED: "not_registered",
  /** Output `seq` skipped ahead of the next expected one; not stored. */
  SEQ_GAP: "seq_gap",
  /** The host does not exist (or the user cannot see it). */
  UNKNOWN_HOST: "unknown_host",
  /** The command does not exist (or belongs to another host). */
  UNKNOWN_COMMAND: "unknown_command",
  /** The command is already finished. */
  COMMAND_FINISHED: "command_finished",
  /** The frame is valid but not allowed for this kind of client. */
  FORBIDDEN: "forbidden",
  /** Too many frames in a short time. */
  RATE_LIMITED: "rate_limited",
  /**
   * A command's output passed MAX_OUTPUT_BYTES_PER_COMMAND: the rest is not stored. Carries
   * `command_id`; the agent stops sending that command's output (it still reports its finish).
   */
  OUTPUT_TRUNCATED: "output_truncated",
  /** Something failed on the hub's side (Redis down, …); retry later. */
  UNAVAILABLE: "unavailable",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
