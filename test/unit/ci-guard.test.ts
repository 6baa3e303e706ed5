// The guard every server-backed suite calls at load (`const pgUp = await requirePostgres()`): under CI
// a missing server throws, which fails the whole file; elsewhere it warns and the suite skips. CI is
// any non-empty CI value but "false" and "0" — CI systems set "true", "1" or their own name, and a
// suite must not skip silently on one that does not say "true". Pointed at a closed loopback port
// and a socket path that does not exist.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { underCi } from '../support/ci.js'
import { requireMariadb } from '../support/mariadb.js'
import { requirePostgres } from '../support/postgres.js'
import { closedPort } from '../support/ports.js'

const CI_VALUES = ['true', 'TRUE', '1', 'yes', 'github-actions', ' true ']
const NOT_CI_VALUES = [undefined, '', '  ', 'false', 'False', '0', ' 0 ']

describe('underCi', () => {
  it.each(CI_VALUES)('CI=%j is CI', (value) => {
    expect(underCi({ CI: value })).toBe(true)
  })
  it.each(NOT_CI_VALUES)('CI=%j is not CI', (value) => {
    expect(underCi(value === undefined ? {} : { CI: value })).toBe(false)
  })
  it('reads process.env by default', () => {
    vi.stubEnv('CI', '1')
    expect(underCi()).toBe(true)
    vi.stubEnv('CI', '0')
    expect(underCi()).toBe(false)
    vi.unstubAllEnvs()
  })
})

describe('a suite whose server is missing', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
    vi.restoreAllMocks()
  })

  it.each(CI_VALUES)('fails under CI=%j, naming the server and how to start it', async (value) => {
    vi.stubEnv('CI', value)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const port = await closedPort()
    await expect(requirePostgres(`postgres://postgres@127.0.0.1:${port}/test`)).rejects.toThrow(
      /PostgreSQL on 127\.0\.0\.1:\d+ .*required under CI.*pg_ctlcluster/,
    )
    await expect(requireMariadb({ socket: '/nonexistent/mysqld.sock', port })).rejects.toThrow(
      /MariaDB is required under CI.*mariadbd/,
    )
    expect(warn).not.toHaveBeenCalled()
  })

  it.each(NOT_CI_VALUES)('skips under CI=%j, with a message naming what to start', async (value) => {
    vi.stubEnv('CI', value)
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const port = await closedPort()
    await expect(requirePostgres(`postgres://postgres@127.0.0.1:${port}/test`)).resolves.toBe(false)
    await expect(requireMariadb({ socket: '/nonexistent/mysqld.sock', port })).resolves.toBe(false)
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/Skipping .*PostgreSQL.*pg_ctlcluster/),
      expect.stringMatching(/MariaDB is not running.*mariadbd/),
    ])
  })
})
