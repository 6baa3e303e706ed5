// @lazydb/core/migrate: ordered SQL migrations per database alias (Node: reads the files with node:fs).
export {
  migrate,
  migrationStatus,
  type MigrateOptions,
  type MigrationProgress,
  type MigrationResult,
  type MigrationState,
  type MigrationStatus,
} from './runner.js'
export { splitSql } from './split-sql.js'
