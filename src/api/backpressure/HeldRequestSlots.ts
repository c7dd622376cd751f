/**
 * Caps the requests of one kind an API process holds open, in all and per
 * owner: event streams (each with a Redis connection of its own while it
 * waits) and long-polls (each a socket and queue-event listeners for up to a
 * minute). Without a cap one key could hold them all, and an unbounded
 * number would exhaust Redis's clients or the process for everyone.
 */
export class HeldRequestSlots {
  private total = 0;
  private readonly byOwner = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerOwner: number,
  ) {}

  /** Takes a slot; returns its release, or undefined when the owner or the process is at its cap. */
  take(owner: string): (() => void) | undefined {
    const held = this.byOwner.get(owner) ?? 0;
    if (this.total >= this.maxTotal || held >= this.maxPerOwner) return undefined;
    this.total++;
    this.byOwner.set(owner, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byOwner.get(owner) ?? 1) - 1;
      if (left === 0) this.byOwner.delete(owner);
      else this.byOwner.set(owner, left);
    };
  }
}
