import type { Redis } from "ioredis";
import {
  ControlMessageSchema,
  HostChannelMessageSchema,
  type ControlMessage,
  type HostChannelMessage,
  type Keys,
  type Logger,
} from "@tether/core";

export interface SubscriptionHandlers {
  /** A fleet event frame, exactly as published (relayed verbatim to browsers). */
  onEvent(frame: Buffer): void;
  onControl(msg: ControlMessage): void;
  onHost(hostId: string, msg: HostChannelMessage): void;
  /** The subscriber connection came back after a break: messages may have been dropped. */
  onResubscribed(): void;
  /** The events channel was let go (no browser for a while): the relay's position means nothing now. */
  onEventsDropped(): void;
}

/** How long the events channel stays subscribed after the last browser left (a reload comes back within it). */
export const EVENTS_LINGER_MS = 10_000;

/**
 * The hub's one subscriber connection: the control channel, one channel per host whose agent this
 * hub holds (reference-counted), and the events channel only while the hub holds a browser (an
 * agents-only hub would otherwise read, and Redis write to it, every event of the fleet for
 * nobody). Messages are parsed here, at the edge.
 */
export class Subscriptions {
  private readonly hostRefs = new Map<string, number>();
  private readonly hostByChannel = new Map<string, string>();
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
    private readonly sub: Redis,
    private readonly keys: Keys,
    private readonly log: Logger,
    private readonly handlers: SubscriptionHandlers,
    private readonly eventsLingerMs = EVENTS_LINGER_MS,
  ) {
    sub.on("messageBuffer", (channel: Buffer, message: Buffer) => this.route(channel.toString(), message));
    sub.on("ready", () => {
      // ioredis re-subscribes by itself on reconnect; what was published meanwhile is gone.
      if (this.wasReady) handlers.onResubscribed();
      this.wasReady = true;
    });
    if (sub.status === "ready") this.wasReady = true;
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.keys.controlChannel);
  }

  /**
   * A browser needs the events channel: resolves once Redis confirmed the subscription, so
   * every event published after that reaches this hub (a browser's snapshot or replay is read
   * after it, and so misses nothing in between). Each call is matched by one {@link releaseEvents}.
   */
  holdEvents(): Promise<void> {
    this.eventHolds += 1;
    if (this.linger) {
      clearTimeout(this.linger);
      this.linger = null;
    }
    this.events ??= this.sub.subscribe(this.keys.eventsChannel).then(
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
      this.sub.unsubscribe(this.keys.eventsChannel).then(
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
      const channel = this.keys.hostChannel(hostId);
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
      return channels.length ? this.sub.subscribe(...channels).then(() => undefined) : undefined;
    });
    return this.batch;
  }

  async removeHost(hostId: string): Promise<void> {
    const n = this.hostRefs.get(hostId) ?? 0;
    if (n <= 1) {
      this.hostRefs.delete(hostId);
      const channel = this.keys.hostChannel(hostId);
      this.hostByChannel.delete(channel);
      // Still waiting for its batch: just leave it out, so it is never subscribed at all.
      const waiting = this.toSubscribe.indexOf(channel);
      if (waiting >= 0) this.toSubscribe.splice(waiting, 1);
      else await this.sub.unsubscribe(channel).catch(() => undefined);
    } else {
      this.hostRefs.set(hostId, n - 1);
    }
  }

  private route(channel: string, message: Buffer): void {
    if (channel === this.keys.eventsChannel) {
      this.handlers.onEvent(message);
      return;
    }
    try {
      if (channel === this.keys.controlChannel) {
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
