import { ErrorFrameSchema, HostsFrameSchema, LoggedEventSchema } from "@tether/protocol";
import type { HubToBrowser } from "@tether/protocol";

/**
 * Parses one text frame from the hub; the edge where untrusted input becomes typed. Returns
 * undefined for anything that is not a valid hub → browser frame (the caller logs it).
 *
 * Dispatching on `type` first keeps this cheap for the flood of `command_output` frames
 * (one schema tried, not a union of all of them).
 */
export function parseHubFrame(data: unknown): HubToBrowser | undefined {
  const text = asText(data);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const type = typeof json === "object" && json !== null ? (json as { type?: unknown }).type : undefined;
  const schema = type === "hosts" ? HostsFrameSchema : type === "error" ? ErrorFrameSchema : LoggedEventSchema;
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Frames are JSON text (CONTRACT §3), but a server that writes a Buffer sends a binary frame
 * with the same UTF-8 bytes; accept that too (the socket uses `binaryType = "arraybuffer"`).
 */
function asText(data: unknown): string | undefined {
  if (typeof data === "string") return data;
  try {
    if (data instanceof ArrayBuffer) return utf8.decode(data);
    if (ArrayBuffer.isView(data)) return utf8.decode(data);
  } catch {
    return undefined; // not UTF-8
  }
  return undefined;
}
