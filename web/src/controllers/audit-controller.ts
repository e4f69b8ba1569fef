import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { Api } from "../lib/api";
import { AuditFeed } from "../lib/audit-feed";

/** Seconds between two polls of the audit log while the page is visible. */
export const AUDIT_POLL_MS = 3000;

/**
 * Keeps an {@link AuditFeed} running while its element is connected and the tab visible:
 * polls `GET /api/audit?after=` every {@link AUDIT_POLL_MS}, at once when the window regains
 * focus or the tab becomes visible again, and not at all while the tab is hidden.
 */
export class AuditController implements ReactiveController {
  readonly feed: AuditFeed;
  private readonly onVisibility = () => (document.visibilityState === "visible" ? this.resume() : this.feed.stop());
  private readonly onFocus = () => void this.feed.refresh();

  constructor(
    private readonly host: ReactiveControllerHost,
    api: () => Pick<Api, "audit"> | undefined,
  ) {
    this.feed = new AuditFeed({
      fetchPage: async (after, limit) => {
        const client = api();
        if (!client) return [];
        return (await client.audit(after, limit)).entries;
      },
      onChange: () => this.host.requestUpdate(),
      intervalMs: AUDIT_POLL_MS,
    });
    host.addController(this);
  }

  hostConnected(): void {
    document.addEventListener("visibilitychange", this.onVisibility);
    addEventListener("focus", this.onFocus);
    if (document.visibilityState !== "hidden") this.feed.start();
  }

  hostDisconnected(): void {
    document.removeEventListener("visibilitychange", this.onVisibility);
    removeEventListener("focus", this.onFocus);
    this.feed.stop();
  }

  private resume(): void {
    this.feed.start();
    void this.feed.refresh();
  }
}
