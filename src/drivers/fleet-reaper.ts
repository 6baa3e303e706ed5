import type { ReaperSettings } from './reaper-options.js'

/**
 * The fleet reaper's rhythm, whatever the server: at most once per `everyMs`, on a connection checked
 * out for a statement anyway, look how full the server is; when crowded, end this application's idle
 * connections. Looking is best effort and never throws: the statement runs regardless. Each server
 * says how to look and how to end (pg-common/reaper.ts, mysql2/reaper.ts).
 */
export abstract class FleetReaper<Session> {
  #lastLook = Number.NEGATIVE_INFINITY
  /**
   * The server was near its limit at the last look: a connection is then closed after use instead of
   * kept idle in the pool (a frozen instance would hold it), as serverless-mysql's end() does.
   */
  crowded = false
  /** Connections this process has ended (for stats and tests). */
  ended = 0

  constructor(readonly settings: ReaperSettings) {}

  /** Looks, at most every `everyMs`, on a connection checked out for a statement; never throws. */
  async maybeReap(session: Session): Promise<void> {
    const now = performance.now()
    if (now - this.#lastLook < this.settings.everyMs) return
    this.#lastLook = now
    try {
      this.crowded = await this.isCrowded(session)
      if (this.crowded) this.ended += await this.endIdle(session)
    } catch {}
  }

  /** Whether the connections in use reach `usage` of the server's limit (for this role or user, or in all). */
  protected abstract isCrowded(session: Session): Promise<boolean>

  /** Ends this application's connections idle past `idleMs`; resolves with how many. */
  protected abstract endIdle(session: Session): Promise<number>
}
