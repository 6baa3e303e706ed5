// The warm-client lifecycle: a client kept for the whole process and shared by every invocation,
// replaced when found dead or idle past its timeout (a freeze stops timers, so the check happens on
// use too), closed by its idle timer when no lease holds it and the driver reports nothing checked
// out, and retired from the process-wide cache when replaced or disconnected.
import { ClientSlot, type Closer } from './client-slot.js'
import type { DriverClient } from './drivers/contract.js'
import { forgetWarmClient } from './warm-cache.js'

export class WarmClient extends ClientSlot {
  readonly key: string
  /** A socket is idle-closed and checked for staleness; HTTP and in-process clients are not. */
  readonly socket: boolean
  readonly idleTimeoutMs: number
  #timer: ReturnType<typeof setTimeout> | undefined = undefined
  #keepAlive: { promise: Promise<void>; resolve: () => void } | undefined = undefined

  constructor(key: string, socket: boolean, idleTimeoutMs: number, closer: Closer) {
    super(closer, socket)
    this.key = key
    this.socket = socket
    this.idleTimeoutMs = idleTimeoutMs
  }

  /**
   * Whether `client` (this slot's) may take a new lease: alive, and for a socket not idle past the
   * timeout. A client in use is never stale: its idle time starts when its last lease ends.
   */
  isFresh(client: DriverClient): boolean {
    if (client.isAlive !== undefined && !client.isAlive()) return false
    if (!this.socket || this.statements > 0 || this.holds > 0) return true
    return Date.now() - this.lastUsed <= this.idleTimeoutMs
  }

  protected override connected(): void {
    if (this.socket) this.#armIdleTimer(this.idleTimeoutMs)
  }

  #armIdleTimer(delay: number): void {
    this.#timer = setTimeout(() => this.#checkIdle(), delay)
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  #checkIdle(): void {
    this.#timer = undefined
    const client = this.client
    if (this.retired || client === undefined) return
    if (this.leased || client.inUse?.() === true) {
      this.#armIdleTimer(this.idleTimeoutMs)
      return
    }
    const idleFor = Date.now() - this.lastUsed
    if (idleFor >= this.idleTimeoutMs) void this.retire('idle').catch(() => undefined)
    else this.#armIdleTimer(this.idleTimeoutMs - idleFor)
  }

  /**
   * For an ending invocation's waitUntil: settles when this client has closed. Each call takes over
   * from the previous one, which settles at once: the latest invocation keeps the instance alive
   * until the idle close, and no promise handed to an earlier one stays pending.
   */
  idleClosed(): Promise<void> | undefined {
    if (!this.socket || this.retired || this.client === undefined) return undefined
    this.#keepAlive?.resolve()
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    this.#keepAlive = { promise, resolve }
    return promise
  }

  protected override retiredNow(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    forgetWarmClient(this.key, this)
  }

  protected override closed(): void {
    this.#keepAlive?.resolve()
    this.#keepAlive = undefined
  }
}
