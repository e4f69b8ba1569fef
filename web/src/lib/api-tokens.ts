import { formatAgo } from "./format";

/** Lifetimes offered when creating an API token; `days: null` never expires. */
export const EXPIRY_CHOICES = [
  { id: "30d", label: "30 days", days: 30 },
  { id: "90d", label: "90 days", days: 90 },
  { id: "7d", label: "7 days", days: 7 },
  { id: "1y", label: "1 year", days: 365 },
  { id: "never", label: "Never", days: null },
] as const;
export type ExpiryChoice = (typeof EXPIRY_CHOICES)[number]["id"];

const DAY_MS = 86_400_000;

/** `expires_at` (ms since the epoch) for a choice made at `now`, or undefined for "never". */
export function expiresAt(choice: string, now: number): number | undefined {
  const days = EXPIRY_CHOICES.find((c) => c.id === choice)?.days;
  return days ? now + days * DAY_MS : undefined;
}

/** "never", "expired 3 h ago", "in 5 d", "in 3 h" … */
export function formatExpiry(expires: number | null | undefined, now: number): string {
  if (expires === undefined || expires === null) return "never";
  if (expires <= now) return `expired ${formatAgo(expires, now)}`;
  const hours = Math.floor((expires - now) / 3_600_000);
  if (hours < 1) return `in ${Math.max(1, Math.floor((expires - now) / 60_000))} min`;
  if (hours < 48) return `in ${hours} h`;
  return `in ${Math.floor(hours / 24)} d`;
}

/** Has the token expired at `now`? */
export function isExpired(expires: number | null | undefined, now: number): boolean {
  return expires !== undefined && expires !== null && expires <= now;
}
