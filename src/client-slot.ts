// One driver client through its life, and the leases on it. Every use of a client is a lease: a
// statement (ends by itself once the server answers) or a hold (a transaction, or client() until
// its owner ends). A slot connects once however many leases wait for it, and forgets a failed
// connect so the next lease tries again. Retired, it takes no new leases and closes once the
// statements on it have ended and no hold is left; forced, it closes at once and the work still on
// it settles with CLOSED. Nothing ever closes under a lease otherwise, and nothing is left pending.
import { ClientClosedError, type DriverClient } from './drivers/contract.js'
import type { CloseEvent } from './types.js'

export type LeaseKind = 'statement' | 'hold'

/** A transaction open on a slot's client: rolled back at once when the slot is closed under it. */
export interface OpenTransaction {
  abandon(force: boolean): Promise<void>
}
export type CloseReason = CloseEvent['reason']

/** Closes a client for the slot: counts it, reports it, and rejects with CLOSED when the close failed. */
export type Closer = (client: DriverClient, reason: CloseReason, force: boolean) => Promise<void>

export class ClientSlot {
  client: DriverClient | undefined = undefined
  statements = 0
  holds = 0
  /** When the last lease ended (ms since epoch); kept only where idle time matters. */
  lastUsed = 0
  /** No new leases: replaced, disconnected, or its invocation ended. */
  retired = false
  /** Closed under work that was still running: that work reports CLOSED. */
  forced = false
  /** Transactions open on this client (each also holds it). */
  readonly transactions = new Set<OpenTransaction>()
  #connecting: Promise<DriverClient> | undefined = undefined
  #retiring: Promise<void> | undefined = undefined
  #closing: Promise<void> | undefined = undefined
  #closeOnLastHold = false
  #reason: CloseReason = 'disconnect'
  #statementsEnded: (() => void) | undefined = undefined
  readonly #closer: Closer
  readonly #tracksIdle: boolean

  constructor(closer: Closer, tracksIdle = false) {
    this.#closer = closer
    this.#tracksIdle = tracksIdle
  }

  /** The client, connecting it once for every lease that waits; a failed connect is forgotten. */
  connect(open: () => Promise<DriverClient>): Promise<DriverClient> {
    const client = this.client
    if (client !== undefined) return Promise.resolve(client)
    if (this.#connecting !== undefined) return this.#connecting
    const connecting = open().then(
      (created) => {
        this.#connecting = undefined
        if (this.#closing !== undefined) {
          // Closed while it connected: what it made is closed too, never left open.
          void this.#closer(created, this.#reason, this.forced).catch(() => undefined)
          throw new ClientClosedError()
        }
        this.client = created
        if (this.#tracksIdle) this.lastUsed = Date.now()
        this.connected(created)
        return created
      },
      (error: unknown) => {
        this.#connecting = undefined
        throw error
      },
    )
    this.#connecting = connecting
    return connecting
  }

  /** Called once the client exists. */
  protected connected(_client: DriverClient): void {}

  take(kind: LeaseKind): void {
    if (kind === 'statement') this.statements++
    else this.holds++
  }

  release(kind: LeaseKind): void {
    if (kind === 'statement') this.releaseStatement()
    else this.releaseHold()
  }

  releaseStatement(): void {
    this.statements--
    if (this.#tracksIdle) this.lastUsed = Date.now()
    if (this.statements === 0 && this.#statementsEnded !== undefined) this.#statementsEnded()
  }

  releaseHold(): void {
    this.holds--
    if (this.#tracksIdle) this.lastUsed = Date.now()
    if (this.holds === 0 && this.#closeOnLastHold && this.#closing === undefined) {
      this.#closing = this.#closeNow(false).catch(() => undefined)
    }
  }

  get leased(): boolean {
    return this.statements > 0 || this.holds > 0
  }

  /**
   * Takes the slot out of use (synchronously) and closes its client: once its statements have ended
   * and no hold is left, or at once with `force`. The promise waits for the statements (and for
   * `after`: an owner ending, whose holds end with it), not for other holds (they may belong to the
   * caller): the last hold's release closes the client then.
   */
  retire(reason: CloseReason, force = false, after?: Promise<unknown>): Promise<void> {
    if (!this.retired) {
      this.retired = true
      this.#reason = reason
      this.retiredNow()
    }
    if (force && !this.forced) {
      this.forced = true
      if (this.#closing === undefined || this.client !== undefined) {
        this.#closing = this.#afterConnecting(() => this.#closeNow(true))
      }
      this.#statementsEnded?.()
    }
    if (this.#closing !== undefined) return this.#closing
    return (this.#retiring ??= this.#afterConnecting(async () => {
      if (this.statements > 0 && this.#closing === undefined) {
        await new Promise<void>((resolve) => (this.#statementsEnded = resolve))
      }
      this.#statementsEnded = undefined
      if (after !== undefined) await after.catch(() => undefined)
      if (this.#closing !== undefined) return this.#closing
      if (this.holds > 0) {
        this.#closeOnLastHold = true
        return undefined
      }
      return (this.#closing = this.#closeNow(false))
    }))
  }

  /** Called once when the slot is retired. */
  protected retiredNow(): void {}

  /** Called once the client has closed (or there was none to close). */
  protected closed(): void {}

  async #afterConnecting(then: () => Promise<void>): Promise<void> {
    const connecting = this.#connecting
    if (connecting !== undefined) await connecting.catch(() => undefined)
    return then()
  }

  async #closeNow(force: boolean): Promise<void> {
    // A transaction still open is dropped first, so nothing it holds (a lock, an embedded file's
    // write lock, a pooled session) outlives the client.
    if (this.transactions.size > 0) await Promise.allSettled([...this.transactions].map((t) => t.abandon(true)))
    const client = this.client
    this.client = undefined
    try {
      if (client !== undefined) await this.#closer(client, this.#reason, force)
    } finally {
      this.closed()
    }
  }
}
