/**
 * Admission to one shared pool (a server's tenants database): at most `capacity` statements or
 * transactions hold its connections at once, and each tenant at most its own cap. A statement
 * that cannot go in waits in its tenant's queue; a freed slot goes to the waiting tenants in
 * turn (round-robin), not to whoever queued first, so a tenant with a hundred statements queued
 * delays a neighbour's one by at most one turn. A wait is bounded: then the statement is refused
 * (TenantBusyError when its tenant was at its own cap, TenantPoolBusyError otherwise).
 *
 * Hand-written rather than p-limit/p-queue: those are FIFO over one limit, and this is a limit
 * per tenant under a shared one, served by turns. Every slot is taken and given back by the
 * routing pool in one try/finally (tenant-routing-pool.ts).
 */
import { TenantBusyError } from './tenant-guards.js';
import { TenantPoolBusyError } from './tenant-sql.js';

interface Waiter {
  grant(): void;
  refuse(err: Error): void;
  timer: NodeJS.Timeout;
}

interface TenantSlots {
  inFlight: number;
  /** The tenant's cap, as its latest statement asked (Infinity: none). */
  cap: number;
  waiting: Waiter[];
}

export class FairQueue {
  #inFlight = 0;
  readonly #tenants = new Map<string, TenantSlots>();
  /** Tenants with statements waiting, in the order their turn comes (Map order is the ring). */
  readonly #turns = new Map<string, TenantSlots>();

  constructor(
    private readonly capacity: number,
    private readonly waitMs: number,
  ) {}

  /**
   * Takes a slot for `tenantId` if one is free now (the path of nearly every statement); false
   * when the statement must `wait`. `cap`: the tenant's most concurrent statements (null: none).
   */
  tryEnter(tenantId: string, cap: number | null): boolean {
    let slots = this.#tenants.get(tenantId);
    if (!slots) this.#tenants.set(tenantId, (slots = { inFlight: 0, cap: cap ?? Infinity, waiting: [] }));
    else slots.cap = cap ?? Infinity;
    // Others waiting are blocked by their own caps, or the pool is full: either way this one may not pass them.
    if (this.#inFlight >= this.capacity || slots.inFlight >= slots.cap || slots.waiting.length) return false;
    slots.inFlight++;
    this.#inFlight++;
    return true;
  }

  /** Waits for a slot for `tenantId`, after tryEnter said none was free. */
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
      // Its cap may have been raised since the slots it waits for were taken.
      this.#dispatch();
    });
  }

  /** Gives back a slot taken by tryEnter or wait, and hands it on to the next tenant in turn. */
  leave(tenantId: string): void {
    const slots = this.#tenants.get(tenantId)!;
    slots.inFlight--;
    this.#inFlight--;
    this.#dispatch();
    this.#forgetIdle(tenantId, slots);
  }

  /** Refuses every waiting statement, e.g. when the router closes. */
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

  /** The first tenant in turn that is below its cap. */
  #nextInTurn(): [string, TenantSlots] | undefined {
    for (const turn of this.#turns) if (turn[1].inFlight < turn[1].cap) return turn;
    return undefined;
  }

  #forgetIdle(tenantId: string, slots: TenantSlots) {
    if (slots.inFlight === 0 && !slots.waiting.length) this.#tenants.delete(tenantId);
  }
}
