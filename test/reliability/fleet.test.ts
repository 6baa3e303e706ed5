// The fleet simulation, small (bench/rows/fleet.mjs runs the large one): 16 Lambda-like instances,
// frozen between invocations, against PostgreSQL through a role capped at 6 connections, and against
// MariaDB through a user capped at 6. The hand-written module-scope pool runs first and must hit "too
// many connections" (the premise); lazydb with its Lambda defaults plus the reaper must let none reach
// user code.
import { afterAll, describe, expect, it } from 'vitest'
import { dropFleetRole, prepareFleetRole, runFleet } from '../../bench/lib/fleet.mjs'
import { requireMariadb } from '../support/mariadb.js'
import { requirePostgres } from '../support/postgres.js'

const pgUp = await requirePostgres()
const mariadbUp = await requireMariadb()
const ROLE = `lazydb_fleet_t${process.pid}`
const CAP = 6
const FLEET = { instances: 16, invocations: 240, maxBurst: 5, seed: 7, deadlineMs: 40_000 }

for (const [driver, up] of [
  ['pg', pgUp],
  ['mysql2', mariadbUp],
] as const) {
  describe.skipIf(!up)(`fleet on ${driver}: 16 frozen-and-thawed instances, capped at 6 connections`, () => {
    const role = `${ROLE}_${driver}`.slice(0, 32)
    afterAll(async () => {
      await dropFleetRole(role, driver)
    })

    it('a module-scope pool gets "too many connections"; lazydb with the reaper lets none reach the user', async () => {
      const fleet = { ...FLEET, role, driver }
      const baseline = await runFleet({
        ...fleet,
        mode: 'baseline',
        url: await prepareFleetRole(role, CAP, undefined, driver),
      })
      console.log(
        `[fleet] ${driver} baseline: ${JSON.stringify({ ...baseline, otherErrors: baseline.otherErrors.length })}`,
      )
      expect(baseline.tooMany).toBeGreaterThan(0)
      const lazydb = await runFleet({
        ...fleet,
        mode: 'lazydb',
        url: await prepareFleetRole(role, CAP, undefined, driver),
      })
      console.log(`[fleet] ${driver} lazydb: ${JSON.stringify(lazydb)}`)
      expect(lazydb.invocations).toBe(FLEET.invocations)
      expect(lazydb.tooMany).toBe(0)
      expect(lazydb.otherErrors).toEqual([])
      expect(lazydb.peakConnections).toBeLessThanOrEqual(CAP)
    }, 90_000)
  })
}
