/**
 * A custom AccountStore over node-postgres, written as an application would with the public API only: its
 * `withAccountLock` never waits for the account's lock (`pg_try_advisory_xact_lock` on the key every
 * PostgreSQL store locks), and reports a held lock with the typed value, `AccountStoreError` with
 * `lockTimeout`, not with a database error code. For the @auth/pg-adapter schema (tables accounts, users).
 */
import { AccountStoreError, type AccountStore, type LockedAccount, type StoredAccountRow } from "authjs-adapter-refresh"
import { ADVISORY_LOCK_KEY_SQL } from "authjs-adapter-refresh/internal"
import type pg from "pg"

const KEY_FIELDS = new Set(["id", "userId", "type", "provider", "providerAccountId"])

function storedRow(row: Record<string, unknown>): StoredAccountRow {
  const tokens = Object.fromEntries(Object.entries(row).filter(([field]) => !KEY_FIELDS.has(field)))
  const text = (field: string) => String(row[field])
  return {
    provider: text("provider"),
    providerAccountId: text("providerAccountId"),
    userId: text("userId"),
    type: text("type"),
    tokens,
  }
}

/** Column names come from the core's token fields (plain identifiers); quoted all the same. */
const quoted = (column: string) => `"${column.replaceAll('"', '""')}"`

/**
 * The store. `reportLockTimeout: false` reports a held lock as a plain store failure instead (the control
 * of the test that uses it).
 */
export function tryLockStore(pool: pg.Pool, reportLockTimeout = true): AccountStore {
  const name = "try-lock-pg"
  return {
    name,
    async withAccountLock(key, work) {
      const client = await pool.connect()
      const query = async (text: string, values: unknown[]) => (await client.query(text, values)).rows
      try {
        await client.query("BEGIN ISOLATION LEVEL READ COMMITTED")
        const [lock] = await query(`SELECT pg_try_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL}) AS taken`, [
          key.provider,
          key.providerAccountId,
        ])
        if (lock?.taken !== true)
          throw new AccountStoreError(name, "withAccountLock", undefined, { lockTimeout: reportLockTimeout })
        const byKey = `provider = $1 AND "providerAccountId" = $2`
        const account: LockedAccount = {
          readAll: async () =>
            (await query(`SELECT * FROM accounts WHERE ${byKey}`, [key.provider, key.providerAccountId])).map(
              storedRow,
            ),
          userExists: async (userId) =>
            (await query(`SELECT 1 FROM users WHERE id::text = $1`, [String(userId)])).length > 0,
          async insert(row) {
            const fields: [string, unknown][] = [
              ["userId", String(row.userId)],
              ["type", row.type],
              ["provider", key.provider],
              ["providerAccountId", key.providerAccountId],
              ...Object.entries(row.tokens),
            ]
            const columns = fields.map(([field]) => quoted(field)).join(", ")
            const params = fields.map((_, i) => `$${i + 1}`).join(", ")
            await query(
              `INSERT INTO accounts (${columns}) VALUES (${params})`,
              fields.map(([, value]) => value),
            )
          },
          async update(patch, scope) {
            const fields: [string, unknown][] = Object.entries(patch.tokens ?? {})
            if (patch.userId !== undefined) fields.push(["userId", String(patch.userId)])
            if (fields.length === 0) return
            const set = fields.map(([field], i) => `${quoted(field)} = $${i + 4}`).join(", ")
            await query(`UPDATE accounts SET ${set} WHERE ${byKey} AND "userId"::text = $3`, [
              key.provider,
              key.providerAccountId,
              scope.userId,
              ...fields.map(([, value]) => value),
            ])
          },
        }
        const result = await work(account)
        await client.query("COMMIT")
        return result
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined)
        throw error
      } finally {
        client.release()
      }
    },
    async findAccounts(userId, provider) {
      const { rows } = await pool.query(`SELECT * FROM accounts WHERE "userId"::text = $1 AND provider = $2`, [
        userId,
        provider,
      ])
      const seen = new Set<string>()
      return rows.map(storedRow).filter((row) => {
        const id = `${row.provider}\u001f${row.providerAccountId}`
        return !seen.has(id) && Boolean(seen.add(id))
      })
    },
  }
}
