import type { Chunk } from "@tether/protocol";

/**
 * Puts one command's output chunks in `seq` order, exactly once, whatever mix of sources
 * feeds it: the REST snapshot (`GET /api/commands/:id`) and live `command_output` frames
 * overlap while a console opens, and a resumed socket may replay a few.
 *
 * Chunks ahead of the next expected `seq` wait in `pending` until the gap fills;
 * {@link SeqMerger.hasGap} tells the caller to refetch the snapshot.
 */
export class SeqMerger {
  /** The `seq` the next emitted chunk must have. */
  next = 0;
  private readonly pending = new Map<number, Chunk>();

  /** Accepts chunks in any order; returns those now ready, in order. Duplicates are dropped. */
  push(chunks: Iterable<Chunk>): Chunk[] {
    const ready: Chunk[] = [];
    for (const chunk of chunks) {
      if (chunk.seq < this.next) continue;
      if (chunk.seq > this.next) {
        this.pending.set(chunk.seq, chunk);
        continue;
      }
      ready.push(chunk);
      this.next++;
      this.drain(ready);
    }
    return ready;
  }

  /** True while some chunk waits behind a missing `seq`. */
  get hasGap(): boolean {
    return this.pending.size > 0;
  }

  /** Number of chunks waiting behind a gap. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Gives up on the missing chunks (the snapshot could not be loaded): jumps to the lowest
   * waiting `seq` and returns what is then ready, with how many were skipped.
   */
  skipGap(): { skipped: number; ready: Chunk[] } {
    if (this.pending.size === 0) return { skipped: 0, ready: [] };
    let lowest = Infinity;
    for (const seq of this.pending.keys()) lowest = Math.min(lowest, seq);
    const skipped = lowest - this.next;
    this.next = lowest;
    const ready: Chunk[] = [];
    this.drain(ready);
    return { skipped, ready };
  }

  private drain(ready: Chunk[]): void {
    for (let chunk = this.pending.get(this.next); chunk; chunk = this.pending.get(this.next)) {
      this.pending.delete(this.next);
      ready.push(chunk);
      this.next++;
    }
  }
}
