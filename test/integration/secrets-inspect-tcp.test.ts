// No secret in anything lazydb hands out for the TCP drivers, against the real servers: util.inspect
// (getters, hidden properties, any depth) and JSON of the registry, the database, a transaction handle,
// a rollback scope, a lifespan handle and its outcome, stats, and a failed statement's error, with the
// reaper on (its settings are options too).
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { type Database, Registry, startRollback } from '@lazydb/core'
import { mysql2 } from '@lazydb/core/mysql2'
import { lifespan } from '@lazydb/core/node'
import { pg } from '@lazydb/core/pg'
import { postgres } from '@lazydb/core/postgres'
import { MARIADB_CREDENTIALS, requireMariadb, setupMariadb } from '../support/mariadb.js'
import { requirePostgres } from '../support/postgres.js'

const pgUp = await requirePostgres()
const myUp = await requireMariadb()
const { user, password, host, port, database } = MARIADB_CREDENTIALS
const PG_SECRET = 'pg-inspect-s3cret' // trust auth ignores it: it is there to be looked for
const all = { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }

const targets: [string, boolean, string, () => Database<unknown>][] = [
  ['pg', pgUp, PG_SECRET, () => pg(`postgres://postgres:${PG_SECRET}@127.0.0.1:5432/test`, { reaper: true })],
  [
    'postgres',
    pgUp,
    PG_SECRET,
    () => postgres(`postgres://postgres:${PG_SECRET}@127.0.0.1:5432/test`, { reaper: true }),
  ],
  ['mysql2', myUp, password, () => mysql2(`mysql://${user}:${password}@${host}:${port}/${database}`, { reaper: true })],
]

describe('no secret in what lazydb hands out, on the TCP drivers', () => {
  for (const [name, up, secret, make] of targets) {
    it.skipIf(!up)(`${name}: registry, database, tx, rollback scope, lifespan, stats and errors`, async () => {
      if (name === 'mysql2') await setupMariadb()
      const registry = new Registry({ database: make(), warn: false })
      const shown: string[] = []
      const life = lifespan(registry, { signals: [] })
      await life.ready
      await registry.database.transaction(async (tx) => {
        await tx.query('select 1')
        shown.push(inspect(tx, all), JSON.stringify(tx))
      })
      const scope = startRollback(registry)
      await registry.database.query('select 1')
      shown.push(inspect(scope, all), inspect(life, all), inspect(registry, all), inspect(registry.database, all))
      shown.push(JSON.stringify(registry.stats()), registry.database.url)
      const error = await registry.database.query('select * from lazydb_no_such_table').catch((e: unknown) => e)
      shown.push(inspect(error, all), JSON.stringify(error))
      await scope.end()
      shown.push(inspect(await life.close(), all))
      const text = shown.join('\n')
      expect(text).toContain(':***@') // the URL is there, masked
      expect(text).not.toContain(secret)
    })
  }
})
