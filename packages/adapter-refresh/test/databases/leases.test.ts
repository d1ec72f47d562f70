/**
 * The lease statements of each database (SqlDatabase.leases): pure texts, so checked without a server. What
 * they do on a real one is the conformance kit's "leases" section, run by every cell.
 */
import { describe, expect, test } from "@jest/globals"
import { mysql } from "../../src/databases/mysql.js"
import { postgres } from "../../src/databases/postgres.js"
import type { SqlDatabase, SqlStatement } from "../../src/databases/sql-database.js"
import { sqlite } from "../../src/databases/sqlite.js"

const key = { provider: "p", providerAccountId: "a" }
const lease = { fence: "7", holder: "h-1" }
const statementsOf = (database: SqlDatabase): Record<"take" | "renew" | "release" | "state", SqlStatement> => ({
  take: database.leases.take("lt", key, "h-1", 300),
  renew: database.leases.renew("lt", key, lease, 300),
  release: database.leases.release("lt", key, lease),
  state: database.leases.state("lt", key, "h-1"),
})
/** Each `?` / `$n` of a text with the value bound to it, in the order the text uses them. */
const bound = (statement: SqlStatement): unknown[] => {
  const positional = statement.text.match(/\?/g)
  if (positional) return statement.values
  return [...statement.text.matchAll(/\$(\d+)/g)].map((match) => statement.values[Number(match[1]) - 1])
}

describe("every database's lease statements", () => {
  test.each([
    ["PostgreSQL", postgres],
    ["MySQL", mysql],
    ["SQLite", sqlite],
  ] as const)("%s: bind every value, the key in each, and name no clock but the database's", (_name, database) => {
    for (const [step, statement] of Object.entries(statementsOf(database))) {
      const values = bound(statement)
      expect({ step, values: new Set(values) }).toEqual({ step, values: new Set(statement.values) })
      expect(statement.values).toEqual(expect.arrayContaining(["p", "a"]))
      expect(statement.text).not.toMatch(/\bnow\(\)|CURRENT_TIMESTAMP/i)
      expect(statement.text).toContain("lt")
    }
  })
})

describe("PostgreSQL", () => {
  const { take, renew, release, state } = statementsOf(postgres)
  test("TAKE: one upsert judged by clock_timestamp(), with the lock-mode try-lock, returning the lease only when taken", () => {
    expect(take.text).toMatch(/WHERE pg_try_advisory_xact_lock\(hashtextextended/)
    expect(take.text).toMatch(/ON CONFLICT \(provider, provider_account_id\) DO UPDATE SET fence = l\.fence \+ 1/)
    expect(take.text).toMatch(/WHERE l\.lease_until IS NULL OR l\.lease_until <= clock_timestamp\(\) RETURNING/)
    expect(take.values).toEqual(["p", "a", "h-1", 300])
    expect(postgres.leases.returning).toBe(true)
  })
  test("RENEW only a live lease of this fence and holder; RELEASE by fence and holder; STATE compares the holder", () => {
    expect(renew.text).toMatch(/l\.fence = \$5::bigint AND l\.holder = \$3 AND l\.lease_until > clock_timestamp\(\)/)
    expect(renew.values).toEqual(["p", "a", "h-1", 300, "7"])
    expect(release.text).toMatch(/SET lease_until = NULL WHERE .* AND l\.fence = \$3::bigint AND l\.holder = \$4$/)
    expect(state.text).toMatch(/l\.holder = \$3 AS mine/)
  })
  test("remaining_ms is a duration the database computes", () => {
    expect(take.text).toContain("extract(epoch FROM (l.lease_until - clock_timestamp())) * 1000")
  })
})

describe("MySQL / MariaDB", () => {
  const { take, renew, release, state } = statementsOf(mysql)
  test("TAKE: INSERT ... ON DUPLICATE KEY UPDATE whose every assignment is conditional on the end, lease_until last", () => {
    const assignments = take.text.slice(take.text.indexOf("ON DUPLICATE KEY UPDATE"))
    const free = "(lease_until IS NULL OR lease_until <= UTC_TIMESTAMP(3))"
    expect(assignments).toBe(
      `ON DUPLICATE KEY UPDATE fence = IF(${free}, fence + 1, fence), ` +
        `holder = IF(${free}, VALUES(holder), holder), lease_until = IF(${free}, VALUES(lease_until), lease_until)`,
    )
    expect(take.text).toContain("UTC_TIMESTAMP(3) + INTERVAL (? * 1000) MICROSECOND")
    expect(take.values).toEqual(["p", "a", "h-1", 300])
    // No RETURNING: the outcome is read by the random holder, byte for byte.
    expect(mysql.leases.returning).toBe(false)
    expect(state.text).toContain("CAST(holder AS BINARY) = CAST(? AS BINARY) AS mine")
    expect(state.text).toContain("TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), lease_until) DIV 1000 AS remaining_ms")
    expect(state.values).toEqual(["h-1", "p", "a"])
  })
  test("RENEW only a live lease of this fence and holder; RELEASE by fence and holder", () => {
    expect(renew.text).toMatch(
      /AND fence = \? AND CAST\(holder AS BINARY\) = CAST\(\? AS BINARY\) AND lease_until > UTC_TIMESTAMP\(3\)$/,
    )
    expect(renew.values).toEqual([300, "p", "a", "7", "h-1"])
    expect(release.values).toEqual(["p", "a", "7", "h-1"])
  })
  test("an InnoDB deadlock (1213) is a lost race; other errors are not", () => {
    expect(mysql.leases.lostRace(Object.assign(new Error("x"), { errno: 1213, code: "ER_LOCK_DEADLOCK" }))).toBe(true)
    expect(mysql.leases.lostRace(Object.assign(new Error("x"), { errno: 1205 }))).toBe(false)
    expect(postgres.leases.lostRace(Object.assign(new Error("x"), { code: "40P01" }))).toBe(false)
  })
})

describe("SQLite", () => {
  const { take, renew, state } = statementsOf(sqlite)
  test("TAKE: an upsert in integer ms of julianday('now'), returning the lease only when taken", () => {
    const now = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    expect(take.text).toContain(`VALUES (?, ?, 1, ?, ${now} + CAST(? AS INTEGER))`)
    expect(take.text).toContain(`WHERE lease_until IS NULL OR lease_until <= ${now} RETURNING`)
    expect(take.values).toEqual(["p", "a", "h-1", 300])
    expect(renew.values).toEqual([300, "p", "a", "7", "h-1"])
    expect(state.values).toEqual(["h-1", "p", "a"])
  })
})
