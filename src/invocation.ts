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
  ended = false

  get ownsAnything(): boolean {
    return this.slots !== undefined || (this.held?.size ?? 0) > 0 || (this.open?.size ?? 0) > 0
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
    const open = this.open
    this.open = undefined
    if (open !== undefined && open.size > 0) await Promise.allSettled([...open].map((t) => t.abandon(force)))
    const slots = this.slots
    this.slots = undefined
    if (slots === undefined) return
    const closing = [...slots.values()].map((slot) => slot.retire(reason, force))
    const results = await Promise.allSettled(closing)
    const failed = results.find((r) => r.status === 'rejected')
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
  }
}
