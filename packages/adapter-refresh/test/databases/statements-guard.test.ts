/**
 * The shared SQL (src/statements.ts) never asks which database it runs on: every "how does database D do
 * X" is a SqlDatabase member in databases/D.ts. A source scan guards it (a branch on a name would pass
 * every behaviour test of the databases that exist today), and each database's answers are checked here.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, test } from "@jest/globals"
import { mysql } from "../../src/databases/mysql.js"
import { postgres } from "../../src/databases/postgres.js"
import type { OwnTokensParts } from "../../src/databases/sql-database.js"
import { sqlite } from "../../src/databases/sqlite.js"

const source = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../src/statements.ts"), "utf8")
/** The source without comments (statements.ts has no "//" or "/*" inside its strings). */
const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "")

describe("statements.ts names no database", () => {
  test("no database's name, in code or comments", () => {
    expect(source.match(/postgres\w*|mysql|maria\w*|sqlite\w*/gi) ?? []).toEqual([])
  })

  test("no branch on a database's identity", () => {
    expect(code.match(/database\.name|\.name\s*[!=]==|===\s*(postgres|mysql|sqlite)\b/g) ?? []).toEqual([])
  })

  test("no dialect's SQL: LIMIT, RETURNING, row locks, ctid, advisory locks, session settings", () => {
    const dialect = /\bLIMIT\b|\bRETURNING\b|FOR UPDATE|SKIP LOCKED|\bctid\b|\bpg_\w+|SET STATEMENT|\bPRAGMA\b/g
    expect(code.match(dialect) ?? []).toEqual([])
  })
})

describe("what each database answers for the shared SQL", () => {
  const parts: OwnTokensParts = {
    accounts: "acc",
    column: (field) => `c_${field}`,
    key: { provider: "p", providerAccountId: "a" },
    owner: "u1",
    assignments: [["c_access_token", "t"]],
  }

  test("a row limit and a row-value comparison", () => {
    for (const database of [postgres, mysql, sqlite]) {
      expect(database.limitRows("SELECT x FROM t ORDER BY x", 5)).toBe("SELECT x FROM t ORDER BY x LIMIT 5")
      expect(database.rowAfter(["a", "b"], ["?", "?"])).toBe("(a, b) > (?, ?)")
    }
  })

  test("RETURNING where an INSERT can return its row, and not on MySQL", () => {
    expect(postgres.returningAll?.("INSERT INTO t VALUES (1)")).toBe("INSERT INTO t VALUES (1) RETURNING *")
    expect(sqlite.returningAll?.("INSERT INTO t VALUES (1)")).toBe("INSERT INTO t VALUES (1) RETURNING *")
    expect(mysql.returningAll).toBeUndefined()
  })

  test("the one-statement sign-in: each database's own statement, values in placeholder order", () => {
    const pg = postgres.ownTokens!.statement(parts)
    expect(pg.text).toMatch(/^UPDATE acc SET c_access_token = \$1 WHERE ctid IN \(/)
    expect(pg.text).toContain("pg_try_advisory_xact_lock(")
    expect(pg.text).toMatch(/FOR UPDATE OF mine SKIP LOCKED\) RETURNING \*$/)
    expect(pg.values).toEqual(["t", "p", "a", "u1"])

    const maria = mysql.ownTokens!.statement(parts)
    expect(maria.text).toMatch(/^SET STATEMENT innodb_lock_wait_timeout = 0 FOR UPDATE acc SET c_access_token = \? /)
    expect(maria.text).not.toContain("RETURNING")
    expect(maria.values).toEqual(["t", "p", "a", "u1", "p", "a", "u1"])
    expect(mysql.ownTokens!.returnsRows).toBe(false)

    const lite = sqlite.ownTokens!.statement(parts)
    expect(lite.text).toMatch(/^UPDATE acc SET c_access_token = \? WHERE c_provider = \? /)
    expect(lite.text).toMatch(/RETURNING \*$/)
    expect(lite.values).toEqual(["t", "p", "a", "u1", "p", "a", "u1"])
  })

  test("what a failed one-statement sign-in means, per database", () => {
    expect(postgres.ownTokens!.failure({ code: "55P03" })).toBe("failed")
    expect(mysql.ownTokens!.failure({ code: "ER_LOCK_WAIT_TIMEOUT", errno: 1205 })).toBe("not-written")
    expect(mysql.ownTokens!.failure({ code: "ER_LOCK_DEADLOCK", errno: 1213 })).toBe("not-written")
    expect(mysql.ownTokens!.failure({ code: "ER_PARSE_ERROR", errno: 1064 })).toBe("unsupported")
    expect(mysql.ownTokens!.failure({ code: "ER_DUP_ENTRY", errno: 1062 })).toBe("failed")
    expect(sqlite.ownTokens!.failure({ code: "SQLITE_BUSY" })).toBe("not-written")
    expect(sqlite.ownTokens!.failure(new Error("no"))).toBe("failed")
  })
})
