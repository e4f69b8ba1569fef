import { FINAL_COMMAND_STATUSES } from "@tether/protocol";
import type { Chunk, Command } from "@tether/protocol";
import type { FleetStore } from "../fleet-store";
import type { Api } from "./api";
import { RunLines } from "./run-lines";
import { SeqMerger } from "./seq-merger";

/** Commands whose earlier output is loaded over REST when the view opens late (the rest: live only). */
export const RUN_SNAPSHOT_LIMIT = 200;
/** Snapshot requests in flight at once. */
const SNAPSHOT_CONCURRENCY = 4;
/** Chunks one command may hold behind a gap before the gap is given up on. */
const MAX_PENDING_CHUNKS = 1_000;

export interface RunFollowerDeps {
  store: Pick<FleetStore, "onOutput" | "onResync" | "subscribe" | "rememberRun" | "rememberCommands" | "commandsOfRun" | "host">;
  api: Pick<Api, "getRun" | "getCommand">;
  runId: string;
  /** The output changed (lines were added), or loading failed. */
  onChange(): void;
}

/** What the follower knows of one command of the run. */
interface Followed {
  hostId: string;
  merger: SeqMerger;
  off: () => void;
  /** Its snapshot was asked for (or it needs none). */
  snapshot: "none" | "queued" | "loading" | "done";
  ended: boolean;
}

/**
 * Feeds a run's combined output ({@link RunLines}) from every command of the run: live
 * `command_output` frames (subscribed as soon as the command is known) and, for commands that
 * had output before that, the REST snapshot `GET /api/commands/:id` (at most
 * {@link RUN_SNAPSHOT_LIMIT} of them, a few at a time). A {@link SeqMerger} per command puts
 * both in `seq` order exactly once, as the single-command console does.
 */
export class RunFollower {
  readonly lines = new RunLines();
  /** Why the run could not be loaded, if it could not. */
  error = "";
  /** The run was loaded over REST at least once. */
  loaded = false;
  /** Commands whose earlier output was not loaded (past {@link RUN_SNAPSHOT_LIMIT}). */
  notLoaded = 0;
  private readonly followed = new Map<string, Followed>();
  private readonly offs: (() => void)[] = [];
  private snapshots = 0;
  private inFlight = 0;
  private readonly queue: string[] = [];
  private stopped = false;

  constructor(private readonly deps: RunFollowerDeps) {}

  start(): void {
    const { store } = this.deps;
    this.offs.push(
      store.subscribe(() => this.sync()),
      store.onResync(() => void this.load(true)),
    );
    this.sync();
    void this.load(false);
  }

  stop(): void {
    this.stopped = true;
    for (const off of this.offs.splice(0)) off();
    for (const f of this.followed.values()) f.off();
    this.followed.clear();
  }

  /** `GET /api/runs/:id`: the run and all its commands (again after a resync). */
  async load(resync: boolean): Promise<void> {
    try {
      const { run, commands } = await this.deps.api.getRun(this.deps.runId);
      if (this.stopped) return;
      this.error = "";
      this.loaded = true;
      this.deps.store.rememberRun(run);
      this.deps.store.rememberCommands(commands);
      if (resync) for (const [id, f] of this.followed) if (f.snapshot === "done" || f.snapshot === "none") this.wantSnapshot(id, f, true);
      this.sync();
    } catch (error) {
      if (this.stopped) return;
      this.error = (error as Error).message;
    }
    this.deps.onChange();
  }

  /** Follows commands of the run not followed yet, and ends those that finished. */
  private sync(): void {
    if (this.stopped) return;
    for (const command of this.deps.store.commandsOfRun(this.deps.runId)) {
      let f = this.followed.get(command.id);
      if (!f) f = this.follow(command);
      if (!f.ended && FINAL_COMMAND_STATUSES.has(command.status)) this.tryEnd(command.id, f);
    }
  }

  private follow(command: Command): Followed {
    const id = command.id;
    const f: Followed = { hostId: command.host_id, merger: new SeqMerger(), off: () => undefined, snapshot: "none", ended: false };
    this.followed.set(id, f);
    f.off = this.deps.store.onOutput(id, (chunk) => this.receive(id, f, [chunk]));
    // Output may have flowed before we subscribed: only a command still queued has none yet.
    if (command.status !== "queued") this.wantSnapshot(id, f, false);
    return f;
  }

  private receive(id: string, f: Followed, chunks: Iterable<Chunk>): void {
    const host = this.deps.store.host(f.hostId)?.name ?? f.hostId;
    let added = false;
    for (const chunk of f.merger.push(chunks)) {
      this.lines.push(id, f.hostId, host, chunk.stream, chunk.data);
      added = true;
    }
    if (f.merger.hasGap) {
      if (f.snapshot === "none") this.wantSnapshot(id, f, false);
      if (f.merger.pendingCount > MAX_PENDING_CHUNKS || f.snapshot === "done") added = this.skipGap(id, f, host) || added;
    }
    if (added) this.deps.onChange();
  }

  private skipGap(id: string, f: Followed, host: string): boolean {
    const { ready } = f.merger.skipGap();
    for (const chunk of ready) this.lines.push(id, f.hostId, host, chunk.stream, chunk.data);
    return ready.length > 0;
  }

  private wantSnapshot(id: string, f: Followed, again: boolean): void {
    if (!again && this.snapshots >= RUN_SNAPSHOT_LIMIT) {
      f.snapshot = "done";
      this.notLoaded++;
      return;
    }
    if (!again) this.snapshots++;
    f.snapshot = "queued";
    this.queue.push(id);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < SNAPSHOT_CONCURRENCY && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const f = this.followed.get(id);
      if (!f) continue;
      this.inFlight++;
      f.snapshot = "loading";
      void this.loadSnapshot(id, f).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async loadSnapshot(id: string, f: Followed): Promise<void> {
    try {
      const { command, output } = await this.deps.api.getCommand(id);
      if (this.stopped) return;
      this.deps.store.rememberCommands([command]);
      f.snapshot = "done";
      this.receive(id, f, output);
    } catch {
      if (this.stopped) return;
      f.snapshot = "done";
      // Show what arrived live rather than hold it back behind a gap forever.
      if (this.skipGap(id, f, this.deps.store.host(f.hostId)?.name ?? f.hostId)) this.deps.onChange();
    }
    this.sync();
  }

  /** A final command's unfinished line becomes a line, once nothing of its output is missing. */
  private tryEnd(id: string, f: Followed): void {
    if (f.merger.hasGap || f.snapshot === "queued" || f.snapshot === "loading") return;
    f.ended = true;
    this.lines.end(id);
    this.deps.onChange();
  }
}
