/** Admission to a shared pool, tenants in turn. Hand-written: p-limit/p-queue are FIFO. */
import { TenantBusyError } from './tenant-guards.js';
import { TenantPoolBusyError } from './tenant-sql.js';

interface Waiter {
  grant(): void;
  refuse(err: Error): void;
  timer: NodeJS.Timeout;
}

interface TenantSlots {
  inFlight: number;
  /** As its latest statement asked; Infinity: none. */
  cap: number;
  waiting: Waiter[];
}

export class FairQueue {
  #inFlight = 0;
  readonly #tenants = new Map<string, TenantSlots>();
  /** Tenants with statements waiting; Map order is the ring. */
  readonly #turns = new Map<string, TenantSlots>();

  constructor(
    private readonly capacity: number,
    readonly waitMs: number,
  ) {}

  /** `cap` null: none. */
  tryEnter(tenantId: string, cap: number | null): boolean {
    let slots = this.#tenants.get(tenantId);
    if (!slots) this.#tenants.set(tenantId, (slots = { inFlight: 0, cap: cap ?? Infinity, waiting: [] }));
    else slots.cap = cap ?? Infinity;
    // Its earlier statements wait: this one may not pass them.
    if (this.#inFlight >= this.capacity || slots.inFlight >= slots.cap || slots.waiting.length) return false;
    slots.inFlight++;
    this.#inFlight++;
    return true;
  }

  wait(tenantId: string): Promise<void> {
    const slots = this.#tenants.get(tenantId)!;
    return new Promise((grant, refuse) => {
      const waiter: Waiter = {
        grant,
        refuse,
        timer: setTimeout(() => {
          slots.waiting.splice(slots.waiting.indexOf(waiter), 1);
          if (!slots.waiting.length) this.#turns.delete(tenantId);
          this.#forgetIdle(tenantId, slots);
          const why = `no slot within ${this.waitMs} ms`;
          refuse(slots.inFlight >= slots.cap ? new TenantBusyError(slots.cap, this.waitMs) : new TenantPoolBusyError(new Error(why)));
        }, this.waitMs),
      };
      slots.waiting.push(waiter);
      if (!this.#turns.has(tenantId)) this.#turns.set(tenantId, slots);
      // Its cap may have risen since the slots it waits for were taken.
      this.#dispatch();
    });
  }

  leave(tenantId: string): void {
    const slots = this.#tenants.get(tenantId)!;
    slots.inFlight--;
    this.#inFlight--;
    this.#dispatch();
    this.#forgetIdle(tenantId, slots);
  }

  refuseAll(err: Error): void {
    for (const [tenantId, slots] of this.#turns) {
      for (const waiter of slots.waiting.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.refuse(err);
      }
      this.#forgetIdle(tenantId, slots);
    }
    this.#turns.clear();
  }

  stats() {
    let waiting = 0;
    for (const slots of this.#turns.values()) waiting += slots.waiting.length;
    return { inFlight: this.#inFlight, waiting, tenants: this.#tenants.size };
  }

  #dispatch() {
    while (this.#inFlight < this.capacity) {
      const next = this.#nextInTurn();
      if (!next) return;
      const [tenantId, slots] = next;
      const waiter = slots.waiting.shift()!;
      clearTimeout(waiter.timer);
      // Its turn is used: to the back of the ring, or out of it.
      this.#turns.delete(tenantId);
      if (slots.waiting.length) this.#turns.set(tenantId, slots);
      slots.inFlight++;
      this.#inFlight++;
      waiter.grant();
    }
  }

  #nextInTurn(): [string, TenantSlots] | undefined {
    for (const turn of this.#turns) if (turn[1].inFlight < turn[1].cap) return turn;
    return undefined;
  }

  #forgetIdle(tenantId: string, slots: TenantSlots) {
    if (slots.inFlight === 0 && !slots.waiting.length) this.#tenants.delete(tenantId);
  }
}
