import type { Cluster, Redis } from "ioredis";
import {
  ControlMessageSchema,
  HostChannelMessageSchema,
  type ControlMessage,
  type HostChannelMessage,
  type Logger,
  type PartitionedKeys,
} from "@tether/core";

/** The channels a hub hears: the control channel, each partition's events channel, a host's channel. */
export interface Channels {
  control: string;
  /** Index = partition. */
  events: readonly string[];
  host(hostId: string): string;
}

export const channelsOf = (keys: PartitionedKeys): Channels => ({
  control: keys.controlChannel,
  events: keys.all.map((k) => k.eventsChannel),
  host: (hostId) => keys.forHost(hostId).hostChannel(hostId),
});

export interface SubscriptionHandlers {
  /** A fleet event message of `partition`, exactly as published. */
  onEvent(message: Buffer, partition: number): void;
  onControl(msg: ControlMessage): void;
  onHost(hostId: string, msg: HostChannelMessage): void;
  /** The subscriber connection (or, on a cluster, one shard's) came back after a break: messages may have been dropped. */
  onResubscribed(): void;
  /** The events channel was let go (no browser for a while): the relay's position means nothing now. */
  onEventsDropped(): void;
}

/** How long the events channel stays subscribed after the last browser left (a reload comes back within it). */
export const EVENTS_LINGER_MS = 10_000;

/**
 * The hub's one subscriber connection: the control channel, one channel per host whose agent this
 * hub holds (reference-counted), and the events channels (one per partition) only while the hub
 * holds a browser (an agents-only hub would otherwise read, and Redis write to it, every event of
 * the fleet for nobody). Messages are parsed here, at the edge.
 *
 * On a Redis Cluster the events and host channels are sharded (SSUBSCRIBE to the shard owning the
 * channel's slot; the scripts SPUBLISH), so a message crosses only its own shard; the control
 * channel stays a plain one, heard cluster-wide. ioredis keeps one sharded subscriber per master
 * and reports one coming back as `+subscriber`, not as `ready`: either is a break to backfill.
 */
export class Subscriptions {
  private readonly hostRefs = new Map<string, number>();
  private readonly hostByChannel = new Map<string, string>();
  /** Events channel → its partition. */
  private readonly partitionOf: Map<string, number>;
  /** Sharded Pub/Sub (a cluster client) for the events and host channels. */
  private readonly sharded: boolean;
  private wasReady = false;
  /** Channels to subscribe in the next batch, and the batch's completion. */
  private toSubscribe: string[] = [];
  private batch: Promise<void> | null = null;
  /** Browsers that need the events channel; while > 0 (and for a linger after) it is subscribed. */
  private eventHolds = 0;
  /** The events channel's SUBSCRIBE, once sent and until it is let go. */
  private events: Promise<void> | null = null;
  private linger: NodeJS.Timeout | null = null;

  constructor(
    private readonly sub: Redis | Cluster,
    private readonly channels: Channels,
    private readonly log: Logger,
    private readonly handlers: SubscriptionHandlers,
    private readonly eventsLingerMs = EVENTS_LINGER_MS,
  ) {
    this.partitionOf = new Map(channels.events.map((c, p) => [c, p]));
    this.sharded = (sub as { isCluster?: boolean }).isCluster === true;
    const route = (channel: Buffer, message: Buffer) => this.route(channel.toString(), message);
    sub.on("messageBuffer", route);
    if (this.sharded) {
      sub.on("smessageBuffer", route);
      // A shard's subscriber was replaced (its master restarted or failed over): ioredis says
      // `-subscriber`, then `subscribersReady` once the group is rebuilt and re-subscribing. What
      // that shard published meanwhile is gone: confirm the subscriptions (an SSUBSCRIBE answered
      // means the channel is heard again), then tell the hub to read the gap from the log.
      let broken = false;
      sub.on("-subscriber", () => (broken = true));
      sub.on("subscribersReady", () => {
        if (!broken) return;
        broken = false;
        const channels = [...(this.events ? this.channels.events : []), ...this.hostByChannel.keys()];
        this.subscribeAll(channels).then(
          () => handlers.onResubscribed(),
          (err: Error) => {
            // Not heard again yet: the next rebuild of the group tries again.
            log.warn({ err: err.message }, "sharded re-subscribe failed");
            broken = true;
          },
        );
      });
    }
    sub.on("ready", () => {
      // ioredis re-subscribes by itself on reconnect; what was published meanwhile is gone.
      if (this.wasReady) handlers.onResubscribed();
      this.wasReady = true;
    });
    if (sub.status === "ready") this.wasReady = true;
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.channels.control);
  }

  /**
   * A browser needs the events channels: resolves once Redis confirmed every partition's, so
   * every event published after that reaches this hub (a browser's snapshot or replay is read
   * after it, and so misses nothing in between). Each call is matched by one {@link releaseEvents}.
   */
  holdEvents(): Promise<void> {
    this.eventHolds += 1;
    if (this.linger) {
      clearTimeout(this.linger);
      this.linger = null;
    }
    this.events ??= this.subscribeAll(this.channels.events).then(
      () => undefined,
      (err: Error) => {
        // Not subscribed after all: the next browser asks again.
        this.events = null;
        throw err;
      },
    );
    return this.events;
  }

  releaseEvents(): void {
    this.eventHolds -= 1;
    if (this.eventHolds > 0 || !this.events || this.linger) return;
    this.linger = setTimeout(() => {
      this.linger = null;
      if (this.eventHolds > 0) return;
      this.events = null;
      // Told once Redis confirmed: from then on no event of the channel can still arrive.
      this.unsubscribeAll(this.channels.events).then(
        () => this.handlers.onEventsDropped(),
        () => undefined,
      );
    }, this.eventsLingerMs);
    this.linger.unref();
  }

  async addHost(hostId: string): Promise<void> {
    const n = this.hostRefs.get(hostId) ?? 0;
    this.hostRefs.set(hostId, n + 1);
    if (n === 0) {
      const channel = this.channels.host(hostId);
      this.hostByChannel.set(channel, hostId);
      await this.subscribeSoon(channel);
    }
  }

  /**
   * Subscribe with the others asked for in this turn of the event loop: one SUBSCRIBE (one
   * socket write) for a whole wave of agents coming online, instead of one each.
   */
  private subscribeSoon(channel: string): Promise<void> {
    this.toSubscribe.push(channel);
    this.batch ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const channels = this.toSubscribe;
      this.toSubscribe = [];
      this.batch = null;
      return channels.length ? this.subscribeAll(channels) : undefined;
    });
    return this.batch;
  }

  async removeHost(hostId: string): Promise<void> {
    const n = this.hostRefs.get(hostId) ?? 0;
    if (n <= 1) {
      this.hostRefs.delete(hostId);
      const channel = this.channels.host(hostId);
      this.hostByChannel.delete(channel);
      // Still waiting for its batch: just leave it out, so it is never subscribed at all.
      const waiting = this.toSubscribe.indexOf(channel);
      if (waiting >= 0) this.toSubscribe.splice(waiting, 1);
      else await this.unsubscribeAll([channel]).catch(() => undefined);
    } else {
      this.hostRefs.set(hostId, n - 1);
    }
  }

  /**
   * One SUBSCRIBE for them all on a single Redis; on a cluster one SSUBSCRIBE per channel (a
   * sharded subscribe names channels of one slot only, and each goes to its own shard).
   */
  private async subscribeAll(channels: readonly string[]): Promise<void> {
    if (this.sharded) await Promise.all(channels.map((c) => this.sub.ssubscribe(c)));
    else await this.sub.subscribe(...channels);
  }

  private async unsubscribeAll(channels: readonly string[]): Promise<void> {
    if (this.sharded) await Promise.all(channels.map((c) => this.sub.sunsubscribe(c)));
    else await this.sub.unsubscribe(...channels);
  }

  private route(channel: string, message: Buffer): void {
    const partition = this.partitionOf.get(channel);
    if (partition !== undefined) {
      this.handlers.onEvent(message, partition);
      return;
    }
    try {
      if (channel === this.channels.control) {
        const parsed = ControlMessageSchema.safeParse(JSON.parse(message.toString()));
        if (parsed.success) this.handlers.onControl(parsed.data);
        else this.log.warn({ channel }, "ignored malformed control message");
        return;
      }
      const hostId = this.hostByChannel.get(channel);
      if (hostId === undefined) return;
      const parsed = HostChannelMessageSchema.safeParse(JSON.parse(message.toString()));
      if (parsed.success) this.handlers.onHost(hostId, parsed.data);
      else this.log.warn({ channel }, "ignored malformed host message");
    } catch {
      this.log.warn({ channel }, "ignored non-JSON bus message");
    }
  }
}
