// A weighted, first-come-first-served semaphore: a node of weight w takes w job slots. Strict
// FIFO keeps a heavy node (mksquashfs wants every core) from starving behind light ones.

export class WeightedSemaphore {
  private free: number;
  private queue: { weight: number; wake: () => void }[] = [];

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`job slots must be at least 1, got ${capacity}`);
    this.free = capacity;
  }

  /** Waits for `weight` slots (clamped to the capacity); returns the release function. */
  async acquire(weight: number): Promise<() => void> {
    const w = Math.min(Math.max(1, Math.floor(weight)), this.capacity);
    if (this.queue.length === 0 && this.free >= w) {
      this.free -= w;
    } else {
      await new Promise<void>((wake) => this.queue.push({ weight: w, wake }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.free += w;
      this.drain();
    };
  }

  private drain(): void {
    while (this.queue.length > 0 && this.free >= this.queue[0].weight) {
      const next = this.queue.shift()!;
      this.free -= next.weight;
      next.wake();
    }
  }
}
