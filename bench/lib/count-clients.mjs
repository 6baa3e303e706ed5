// `node --import ./bench/lib/count-clients.mjs …`: counts the driver clients a process creates, by
// wrapping the driver packages' public constructors (count-clients-hooks.mjs), whoever calls them:
// lazydb's driver code and hand-written baselines alike. Read the counts with driverClientCounts().
import { register } from 'node:module'

register('./count-clients-hooks.mjs', import.meta.url)

/** `{ '<package> <entry point>': calls }` so far in this process. */
export function driverClientCounts() {
  return { ...(globalThis.__lazydbBenchDriverClients ?? {}) }
}

/** Every driver client created so far, over all packages and entry points. */
export function driverClientsCreated() {
  return Object.values(driverClientCounts()).reduce((sum, n) => sum + n, 0)
}
