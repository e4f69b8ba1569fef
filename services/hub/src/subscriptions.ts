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
}

/**
 * The hub's one subscriber connection: the events channel, the control channel, and one channel
 * per host whose agent this hub holds (reference-counted). Messages are parsed here, at the edge.
 */
export class Subscriptions {
  private readonly hostRefs = new Map<string, number>();
  private readonly hostByChannel = new Map<string, string>();
  private wasReady = false;

  constructor(
    private readonly sub: Redis,
    private readonly keys: Keys,
    private readonly log: Logger,
    private readonly handlers: SubscriptionHandlers,
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
    await this.sub.subscribe(this.keys.eventsChannel, this.keys.controlChannel);
  }

  async addHost(hostId: string): Promise<void> {
    const n = this.hostRefs.get(hostId) ?? 0;
    this.hostRefs.set(hostId, n + 1);
    if (n === 0) {
      const channel = this.keys.hostChannel(hostId);
      this.hostByChannel.set(channel, hostId);
      await this.sub.subscribe(channel);
    }
  }

  async removeHost(hostId: string): Promise<void> {
    const n = this.hostRefs.get(hostId) ?? 0;
    if (n <= 1) {
      this.hostRefs.delete(hostId);
      const channel = this.keys.hostChannel(hostId);
      this.hostByChannel.delete(channel);
      await this.sub.unsubscribe(channel).catch(() => undefined);
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
