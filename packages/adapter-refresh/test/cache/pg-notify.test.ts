/** The SQL of the NOTIFY triggers (cache/pg-notify.ts), pure; with real PostgreSQL in adapter-refresh-tests. */
import { describe, expect, test } from "@jest/globals"
import { pgNotifyInvalidation, pgNotifyTriggerSql } from "../../src/cache/pg-notify.js"
import { InvalidOptionsError } from "../../src/errors.js"

describe("pgNotifyTriggerSql", () => {
  test("quotes the names it is given (a quote in a name cannot end the identifier)", () => {
    const sql = pgNotifyTriggerSql({
      accountsTable: 'Acc"ount',
      schema: "auth",
      sessionsTable: "Session",
      userIdColumn: "user_id",
    })
    expect(sql).toContain(`ON "auth"."Acc""ount" FOR EACH ROW`)
    expect(sql).toContain(`AFTER DELETE ON "auth"."Session"`)
    expect(sql).toContain(`('authjs_token_cache', 'user_id')`)
  })
  test("sessions get a delete trigger only: a session's expiry update says nothing about tokens", () => {
    const sql = pgNotifyTriggerSql({ accountsTable: "accounts", sessionsTable: "sessions" })
    expect(sql).toMatch(/AFTER DELETE ON "sessions"/)
    expect(sql).not.toMatch(/UPDATE[^;]*ON "sessions"/)
  })
  test("refuses an empty table name", () => {
    expect(() => pgNotifyTriggerSql({ accountsTable: "" })).toThrow(InvalidOptionsError)
  })
  test("a channel of 64 bytes or more is refused with a typed error, counted in UTF-8 bytes, not characters", () => {
    const refused = (channel: string) => {
      try {
        pgNotifyTriggerSql({ accountsTable: "accounts", channel })
      } catch (error) {
        return error
      }
      return undefined
    }
    expect(pgNotifyTriggerSql({ accountsTable: "accounts", channel: "c".repeat(63) })).toContain("c".repeat(63))
    expect(refused("c".repeat(64))).toMatchObject({ code: "INVALID_OPTIONS", option: "channel" })
    // 32 characters, 64 bytes: what PostgreSQL measures.
    const wide = "\u00e9".repeat(32)
    expect(wide.length).toBe(32)
    expect(refused(wide)).toBeInstanceOf(InvalidOptionsError)
    expect(String(refused(wide))).toMatch(/channel is 64 bytes in UTF-8; PostgreSQL allows at most 63/)
    const pool = { connect: () => Promise.reject(new Error("not reached")) }
    expect(() => pgNotifyInvalidation({ pool, accountsTable: "accounts", channel: wide })).toThrow(InvalidOptionsError)
  })
  test("the installed function pins its search_path, qualifies its calls, and never serialises the row", () => {
    const sql = pgNotifyTriggerSql({ accountsTable: "accounts" })
    expect(sql).toContain("SET search_path = pg_catalog, pg_temp")
    expect(sql).not.toMatch(/to_jsonb|row_to_json|hstore/)
    expect(sql).not.toMatch(/(?<!pg_catalog\.)\bpg_notify\(/)
  })
})
