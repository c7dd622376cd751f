/**
 * Caps the live event streams an API process holds open, in all and per
 * owner: each holds a Redis connection of its own while it waits, and an
 * unbounded number of them would exhaust Redis's clients for everyone.
 */
export class StreamSlots {
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
