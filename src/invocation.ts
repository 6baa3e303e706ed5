// An owner of leases: one handler invocation, all invocations of a registry together (where nothing
// tells them apart), or the registry itself between connect() and disconnect(). When it ends, what
// it owns ends with it: open transactions roll back, client() holds are released, request-scoped
// clients close (once their statements have ended, or at once when forced).
import type { ClientSlot, CloseReason } from './client-slot.js'

/** A transaction that the owner rolls back if it is still open when the owner ends. */
export interface Abandonable {
  /** `force`: at once (a timeout, a forced disconnect), not behind a statement that is still running. */
  abandon(force: boolean): Promise<void>
}

export class Invocation {
  /** Request-scoped clients, by the database (runtime) they belong to. */
  slots: Map<object, ClientSlot> | undefined = undefined
  /** Slots that client() handed out under this owner: held until it ends. */
  held: Set<ClientSlot> | undefined = undefined
  open: Set<Abandonable> | undefined = undefined
  /** Transactions whose BEGIN is on its way: the owner waits for them when it ends, and they roll back. */
  opening: Set<Promise<unknown>> | undefined = undefined
  ended = false

  get ownsAnything(): boolean {
    return this.slots !== undefined || (this.held?.size ?? 0) > 0 || this.rollsBackAtEnd
  }

  /** True when ending this owner rolls back a transaction (open, or still beginning). */
  get rollsBackAtEnd(): boolean {
    return (this.open?.size ?? 0) > 0 || (this.opening?.size ?? 0) > 0
  }

  /** Owns a transaction still beginning: `opening` settles once it is tracked, or rolled back if this owner ended. */
  awaitOpening(opening: Promise<unknown>): void {
    const set = (this.opening ??= new Set())
    const settled = opening.then(
      () => void set.delete(settled),
      () => void set.delete(settled),
    )
    set.add(settled)
  }

  track(transaction: Abandonable): void {
    ;(this.open ??= new Set()).add(transaction)
  }

  untrack(transaction: Abandonable): void {
    this.open?.delete(transaction)
  }

  /** Keeps a hold on `slot` until this owner ends; false when it already holds one there. */
  hold(slot: ClientSlot): boolean {
    const held = (this.held ??= new Set())
    if (held.has(slot)) return false
    held.add(slot)
    return true
  }

  /** Ends the owner: releases its holds, rolls back, closes. Settles when everything it owned has closed. */
  async end(force: boolean, reason: CloseReason = 'request-end'): Promise<void> {
    this.ended = true
    const held = this.held
    this.held = undefined
    if (held !== undefined) for (const slot of held) slot.releaseHold()
    // Kept until rolled back, so that a forced end arriving meanwhile (a forced disconnect) drops them at once.
    const open = this.open
    if (open !== undefined && open.size > 0) await Promise.allSettled([...open].map((t) => t.abandon(force)))
    this.open = undefined
    // Forced (a timeout, a forced disconnect): not behind a BEGIN that may be waiting for its retry; it rolls
    // back by itself once it returns, as it finds this owner ended.
    if (!force && this.opening !== undefined && this.opening.size > 0) await Promise.allSettled([...this.opening])
    const slots = this.slots
    this.slots = undefined
    if (slots === undefined) return
    const closing = [...slots.values()].map((slot) => slot.retire(reason, force))
    const results = await Promise.allSettled(closing)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
  }
}
