// neon-ws: a Neon `Pool` of WebSocket connections, run by the pg-pool client shared with `pg`. Every
// client gets this database's socket settings through `pool.Client` (the Pool ignores a `Client`
// option), so nothing is set on the global `neonConfig`.
import { Client, Pool } from '@neondatabase/serverless'
import type { Driver, DriverClient, DriverConfig } from '../contract.js'
import { classifyPostgres } from '../pg-common/errors.js'
import { openPoolClient, type Pool as PgPool, poolOptions } from '../pg-common/pool-client.js'
import { driverUrl } from '../pg-common/sql.js'
import { checkNeonOptions } from './options.js'
import { configure, socketSettings } from './socket.js'

export const neonWsDriver: Driver = {
  name: 'neon-ws',
  async connect(config: DriverConfig): Promise<DriverClient> {
    checkNeonOptions(config)
    const settings = await socketSettings(config)
    const pool = new Pool({ ...poolOptions(config), connectionString: driverUrl(config.url) })
    pool.Client = class extends Client {
      constructor(...args: ConstructorParameters<typeof Client>) {
        super(...args)
        configure(this, settings)
      }
    }
    return openPoolClient(pool as unknown as PgPool, config)
  },
  classify: classifyPostgres,
  validate: checkNeonOptions,
}
