/** The SQL of the NOTIFY triggers (cache/pg-notify.ts), pure; with real PostgreSQL in adapter-refresh-tests. */
import { describe, expect, test } from "@jest/globals"
import { pgNotifyTriggerSql } from "../../src/cache/pg-notify.js"
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
})
