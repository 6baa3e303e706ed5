import type { DriverClient } from './drivers/driver.js'
import type { WaitUntil } from './platform.js'

/** Something an invocation must undo when it ends. */
export interface Closable {
  abandon(): Promise<void>
}

/** The state one handler invocation owns: its request-scoped clients and open transactions. */
export class Invocation {
  clients: Map<object, Promise<DriverClient>> | undefined = undefined
  open: Set<Closable> | undefined = undefined
  waitUntil: WaitUntil | undefined = undefined
  ended = false

  track(item: Closable): void {
    ;(this.open ??= new Set()).add(item)
  }

  untrack(item: Closable): void {
    this.open?.delete(item)
  }
}
