// A driver whose every step is scripted by the test, for the orderings a real server cannot be made to
// produce on cue: a connect that fails after another call has overtaken it, a COMMIT still in flight when
// its owner ends, a close that fails. It registers itself as the `planetscale` driver (mysql:// URLs) of
// the test file's process (the real one is put back after the file, should a later file share the
// process); each `scriptedDatabase()` has its own URL, so no warm client is shared.
import { afterAll } from 'vitest'
import {
  type DriverClient,
  type DriverConfig,
  type DriverTransaction,
  type QueryResult,
  registerDriver,
} from '@lazydb/core'
import { planetscaleDriver } from '@lazydb/core/planetscale'

/** A promise the test opens when it wants the scripted step to go on. */
export interface Gate {
  readonly promise: Promise<void>
  open(): void
}

export function gate(): Gate {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

export interface Script {
  /** Awaited before connect `n` (1-based) makes its client; throw to fail that connect. */
  connect?(n: number): Promise<void>
  begin?(): Promise<void>
  /** Awaited before a statement inside a transaction answers; throw to fail it. */
  query?(text: string): Promise<void>
  commit?(): Promise<void>
  rollback?(force: boolean): Promise<void>
  close?(force: boolean): Promise<void>
}

export interface ScriptedDatabase {
  readonly url: string
  /** Every driver call in order, e.g. `connect #1`, `begin`, `query select 1`, `commit`, `rollback(false)`. */
  readonly log: string[]
  script: Script
  connects: number
}

const databases = new Map<string, ScriptedDatabase>()
let counter = 0

export function scriptedDatabase(script: Script = {}): ScriptedDatabase {
  const host = `scripted-${process.pid}-${++counter}.psdb.cloud`
  const database: ScriptedDatabase = { url: `mysql://user:scripted-secret@${host}/db`, log: [], script, connects: 0 }
  databases.set(host, database)
  return database
}

function result(): QueryResult {
  return { rows: [{ ok: 1 }], rowCount: 1, columns: ['ok'] }
}

function transaction(db: ScriptedDatabase): DriverTransaction {
  return {
    async query(text) {
      db.log.push(`query ${text}`)
      await db.script.query?.(text)
      return result()
    },
    async commit() {
      db.log.push('commit')
      await db.script.commit?.()
      db.log.push('committed')
    },
    async rollback(force = false) {
      db.log.push(`rollback(${force})`)
      await db.script.rollback?.(force)
    },
  }
}

function client(db: ScriptedDatabase): DriverClient {
  return {
    raw: null,
    async execute(text) {
      db.log.push(`query ${text}`)
      return result()
    },
    toResult: (native) => native as QueryResult,
    async batch(statements) {
      return statements.map(() => result())
    },
    async begin() {
      db.log.push('begin')
      await db.script.begin?.()
      return transaction(db)
    },
    async close(force) {
      db.log.push(`close(${force})`)
      await db.script.close?.(force)
    },
  }
}

registerDriver({
  name: 'planetscale',
  async connect(config: DriverConfig) {
    const db = databases.get(new URL(config.url).hostname)
    if (db === undefined) throw new Error(`no scripted database for this URL (${config.alias})`)
    const n = ++db.connects
    db.log.push(`connect #${n}`)
    await db.script.connect?.(n)
    return client(db)
  },
  // Nothing is transient: a failed connect fails at once, with no retry.
  classify: () => ({}),
})
afterAll(() => registerDriver(planetscaleDriver))
