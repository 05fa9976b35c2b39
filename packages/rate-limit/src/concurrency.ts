/** One cap to hold while a call is in flight. */
export interface Slot {
  /** Label used on refusal: `concurrency:<level>`. */
  readonly label: string;
  readonly key: string;
  readonly cap: number;
}

/**
 * In-flight counters per key, for concurrency caps within one process. Checking and taking all
 * slots of a call happen synchronously, so two calls can never both take the last slot.
 */
export class ConcurrencyGate {
  readonly #counts = new Map<string, number>();
  #total = 0;

  /** Calls in flight that hold at least one slot. */
  get inFlight(): number {
    return this.#total;
  }

  /**
   * Takes every slot or none. Returns the slot that is full, or a release function that is safe
   * to call more than once.
   */
  acquire(slots: readonly Slot[]): { full: Slot } | { release: () => void } {
    for (const slot of slots) {
      if ((this.#counts.get(slot.key) ?? 0) >= slot.cap) return { full: slot };
    }
    for (const slot of slots) this.#counts.set(slot.key, (this.#counts.get(slot.key) ?? 0) + 1);
    this.#total++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        for (const slot of slots) {
          const next = (this.#counts.get(slot.key) ?? 1) - 1;
          if (next <= 0) this.#counts.delete(slot.key);
          else this.#counts.set(slot.key, next);
        }
      },
    };
  }
}
