import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { FleetStore } from "../fleet-store";

/** An element that shows fleet state: it gets the shared store as its `store` property. */
export type FleetHost = ReactiveControllerHost & { store?: FleetStore | undefined };

/**
 * Re-renders its element whenever the shared {@link FleetStore} changes, and only while the
 * element is connected. The store may be set after the element connects (Lit sets
 * properties late), so the controller rebinds whenever `store` is a different object.
 */
export class FleetController implements ReactiveController {
  private bound: FleetStore | undefined;
  private unsubscribe: (() => void) | undefined;
  private connected = false;

  constructor(private readonly host: FleetHost) {
    host.addController(this);
  }

  hostConnected(): void {
    this.connected = true;
    this.bind();
  }

  hostUpdate(): void {
    if (this.connected && this.host.store !== this.bound) this.bind();
  }

  hostDisconnected(): void {
    this.connected = false;
    this.unsubscribe?.();
    this.unsubscribe = this.bound = undefined;
  }

  private bind(): void {
    this.unsubscribe?.();
    this.bound = this.host.store;
    this.unsubscribe = this.bound?.subscribe(() => this.host.requestUpdate());
  }
}
