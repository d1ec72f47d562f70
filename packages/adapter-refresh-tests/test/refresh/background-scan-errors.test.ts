/**
 * refreshExpiring's scan failing for real (a role without SELECT on the accounts table, real PostgreSQL):
 * the caller gets the library's typed store error with the driver's safe facts (class name, SQLSTATE),
 * not the driver's own error, whose message may quote row values.
 */
import { describe, expect, test } from "@jest/globals"
import PostgresAdapter from "@auth/pg-adapter"
import { AccountStoreError, withTokenSync } from "authjs-adapter-refresh"
import pg from "pg"
import type { TestDatabase } from "../../src/harness/postgres.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, useRefreshScenario } from "./scenario-hooks.js"

describe("refreshExpiring wraps a failed scan in AccountStoreError (pg, real PostgreSQL)", () => {
  let db: TestDatabase
  let s: RefreshScenario

  useRefreshScenario("refresh_scan_errors", { cell: "pg", login: "scan-errors-user" }, (started) => {
    ;({ db, s } = started)
  })

  test("permission denied on the accounts table: ACCOUNT_STORE_FAILED with SQLSTATE 42501, no row values", async () => {
    const role = `scan_limited_${process.pid}`
    await s.fixture.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'scan-limited'`)
    const url = new URL(db.url)
    url.username = role
    url.password = "scan-limited"
    const pool = new pg.Pool({ connectionString: url.href, max: 2 })
    try {
      const adapter = withTokenSync(PostgresAdapter(pool), pool, { refresh: { providers: [s.providerConfig] } })

      const error = await rejection(adapter.refreshExpiring({ withinSeconds: 600 }))

      expect(error).toBeInstanceOf(AccountStoreError)
      expect(error).toMatchObject({ code: "ACCOUNT_STORE_FAILED", sqlState: "42501", driverErrorName: "error" })
      const row = await s.row()
      for (const token of [row.access_token, row.refresh_token]) {
        expect(String((error as Error).message)).not.toContain(String(token))
      }
    } finally {
      await pool.end()
      await s.fixture.pool.query(`DROP ROLE ${role}`)
    }
  })
})
