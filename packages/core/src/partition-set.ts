import type { EventLog } from "./event-log";
import type { Keys } from "./keys";
import { createPartitionedKeys, partitionOf, partitionOfCommandId, type PartitionedKeys } from "./partitions";

/** One partition as the stores use it: its number, its keys and its event log. */
export interface Partition {
  readonly index: number;
  readonly keys: Keys;
  readonly log: EventLog;
}

/**
 * The partitions of a deployment (`LOG_PARTITIONS`, issue 16) with their event logs, and where a
 * host or a command lives. Every write of a host's or a command's records goes to its partition's
 * log in one step, so on a Redis Cluster each step touches one slot. With one partition there is
 * one entry, today's keys and log.
 */
export class PartitionSet {
  readonly all: readonly Partition[];

  constructor(
    readonly keys: PartitionedKeys,
    logs: readonly EventLog[],
  ) {
    if (logs.length !== keys.partitions) throw new RangeError(`${keys.partitions} partitions need as many logs, got ${logs.length}`);
    this.all = logs.map((log, index) => ({ index, keys: keys.all[index]!, log }));
  }

  /** One partition: a deployment of one single-Redis log (tools and tests that build a store by hand). */
  static single(log: EventLog): PartitionSet {
    return new PartitionSet(createPartitionedKeys(log.keys.prefix, 1), [log]);
  }

  get count(): number {
    return this.all.length;
  }

  /** The partition holding this host. */
  ofHost(hostId: string): Partition {
    return this.all[partitionOf(hostId, this.all.length)]!;
  }

  /** The partition a command id names, or null when it names none of this deployment's (answer as unknown). */
  ofCommand(commandId: string): Partition | null {
    const p = partitionOfCommandId(commandId, this.all.length);
    return p === null ? null : this.all[p]!;
  }

  /** Every partition's event log, in partition order. */
  get logs(): EventLog[] {
    return this.all.map((p) => p.log);
  }
}
