/**
 * MariaDB's lease TAKE (INSERT ... ON DUPLICATE KEY UPDATE) when concurrent takes of one key queue behind an
 * app transaction's uncommitted insert of that key that then rolls back: InnoDB may answer some of them with a
 * deadlock (1213), rolling that statement back whole. A take that lost so is asked once more and, if it loses
 * again, reads the row: each take resolves to a value, and exactly one is `taken`.
 */
import { describe, expect, test } from "@jest/globals"
import mysql from "mysql2/promise"
import { testMysqlDatabase } from "../../src/harness/mariadb.js"
import { useFixtureCell } from "./fixture-cell.js"

const key = (name: string) => ({ provider: "lease-race", providerAccountId: name })

/** Runs `takes` while an app transaction holds an uncommitted insert of `key`, then rolls it back. */
async function behindRolledBackInsert<T>(
  databaseUrl: string,
  of: { provider: string; providerAccountId: string },
  takes: () => Promise<T>[],
): Promise<T[]> {
  const app = await mysql.createConnection(databaseUrl)
  try {
    await app.query("START TRANSACTION")
    await app.query(
      "INSERT INTO authjs_refresh_lease (provider, provider_account_id, fence, holder, lease_until) " +
        "VALUES (?, ?, 1, 'app', NULL)",
      [of.provider, of.providerAccountId],
    )
    const running = takes()
    // Let the takes reach the lock wait, then let go of the insert.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await app.query("ROLLBACK")
    return await Promise.all(running)
  } finally {
    await app.end()
  }
}

describe("lease TAKE on MariaDB behind an insert that rolls back", () => {
  const cell = useFixtureCell({ module: "conformance-kysely-mysql", database: testMysqlDatabase }, "lease_race")

  test("precondition: the bare upsert, sent so, meets InnoDB's deadlock (1213)", async () => {
    const upsert =
      "INSERT INTO authjs_refresh_lease (provider, provider_account_id, fence, holder, lease_until) " +
      "VALUES (?, ?, 1, ?, UTC_TIMESTAMP(3) + INTERVAL 60 SECOND) ON DUPLICATE KEY UPDATE fence = fence"
    const target = key("bare")
    const connections = await Promise.all(Array.from({ length: 4 }, () => mysql.createConnection(cell.database.url)))
    try {
      const codes = await behindRolledBackInsert(cell.database.url, target, () =>
        connections.map((connection, i) =>
          connection.query(upsert, [target.provider, target.providerAccountId, `bare-${i}`]).then(
            () => "ok",
            (error: unknown) => String((error as { code?: unknown }).code),
          ),
        ),
      )
      expect(codes).toContain("ER_LOCK_DEADLOCK")
    } finally {
      await Promise.all(connections.map((connection) => connection.end()))
    }
  })

  test("through the store every take is a value and exactly one takes the key, in each of 5 rounds", async () => {
    const leases = cell.store.leases!
    for (let round = 0; round < 5; round++) {
      const target = key(`sub-${round}`)
      const outcomes = await behindRolledBackInsert(cell.database.url, target, () =>
        Array.from({ length: 4 }, (_, i) =>
          leases.take(target, `holder-${round}-${i}`, 60_000).then(
            (take) => ({ taken: take.taken }),
            (error: unknown) => ({ error: String((error as { code?: unknown }).code ?? error) }),
          ),
        ),
      )
      expect(outcomes.filter((outcome) => "error" in outcome)).toEqual([])
      expect(outcomes.filter((outcome) => "taken" in outcome && outcome.taken)).toHaveLength(1)
    }
  }, 60_000)
})
