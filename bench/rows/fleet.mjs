// Row 7: the fleet. 50 Lambda-like instances, frozen between invocations, against PostgreSQL through a
// role with CONNECTION LIMIT 20, invocations in bursts of 1–25: how many "too many connections" errors
// reach user code with the hand-written module-scope pool (max 1) and with lazydb's Lambda defaults plus
// the reaper, measured in the same run, each with a fresh role (bench/lib/fleet.mjs).
import { dropFleetRole, prepareFleetRole, runFleet } from '../lib/fleet.mjs'
import { QUICK, row } from '../lib/util.mjs'

const ROLE = 'lazydb_bench_fleet'
const CAP = 20
const FLEET = { role: ROLE, instances: 50, invocations: QUICK ? 300 : 1500, maxBurst: 25, seed: 42 }

export async function run() {
  try {
    const baseline = await runFleet({ ...FLEET, mode: 'baseline', url: await prepareFleetRole(ROLE, CAP) })
    const lazydb = await runFleet({ ...FLEET, mode: 'lazydb', url: await prepareFleetRole(ROLE, CAP) })
    const summary = (o) => ({ ...o, otherErrors: o.otherErrors.length, firstOtherError: o.otherErrors[0] })
    return [
      row({
        id: '7-fleet',
        name:
          `Fleet: ${FLEET.instances} frozen/thawed instances, role CONNECTION LIMIT ${CAP}, ` +
          `${FLEET.invocations} invocations in bursts of 1–${FLEET.maxBurst} (pg)`,
        baseline: 'module-scope pg Pool (max 1) per instance',
        measured: { lazydb: summary(lazydb), baseline: summary(baseline) },
        target: '0 "too many connections" and 0 other errors reach user code (lazydb defaults + reaper)',
        pass: lazydb.tooMany === 0 && lazydb.otherErrors.length === 0 && lazydb.invocations === FLEET.invocations,
      }),
    ]
  } finally {
    await dropFleetRole(ROLE)
  }
}
