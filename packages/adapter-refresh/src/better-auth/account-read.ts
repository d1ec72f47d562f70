/**
 * The plugin's read of the caller's own account row: ONE statement by Better Auth's account id and the
 * caller's user id, through the store's own connection, instead of Better Auth's `findAccounts` (which
 * reads every account of the user through its adapter: a query built and compiled by Kysely and every row
 * mapped field by field, on each call).
 *
 * The rule stays Better Auth's: the row must be the one with this id among this user's accounts. Both are
 * compared again in JavaScript, exactly (`===` on the text), because a database may compare more loosely
 * than Better Auth does (MySQL's default collations ignore case).
 */
import { StatementBuilder } from "../databases/sql-database.js"
import { schemaMismatch, type SqlRunner, type SqlTables } from "../statements.js"
import type { AccountStore } from "../store.js"

/** Better Auth's account row as the plugin answers from it (Auth.js field names, expiries in epoch seconds). */
export interface CallerAccount {
  /** Better Auth's own account id (`account.id`). */
  id: string
  userId: string
  providerId: string
  /** The provider's account id (`account.accountId`). */
  accountId: string
  /** As stored: encrypted when Better Auth's `encryptOAuthTokens` is on. */
  accessToken: string | null
  /** The access token's expiry, epoch seconds. */
  expiresAt: number | undefined
  refreshTokenExpiresAt: Date | undefined
  idToken: string | null
  scope: string | null
}

/** Reads the caller's account: the row with this id that this user owns, or undefined. */
export type OwnAccountRead = (accountId: string, userId: string) => Promise<CallerAccount | undefined>

/** The read of each Better Auth store that has one (stores over another table layout have none). */
const reads = new WeakMap<AccountStore, OwnAccountRead>()

const text = (value: unknown): string | null =>
  typeof value === "string" ? value : typeof value === "number" || typeof value === "bigint" ? String(value) : null

const seconds = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined

/**
 * Gives `store` its one-statement read of the caller's row on `run` (the store's own client); `refreshExpiry`
 * is the field `tables` maps onto `refreshTokenExpiresAt`. @internal
 */
export function registerOwnAccountRead(
  store: AccountStore,
  run: SqlRunner,
  tables: SqlTables,
  refreshExpiry: string,
): void {
  const column = tables.column
  const columns = [
    "id",
    "userId",
    "provider",
    "providerAccountId",
    "access_token",
    "expires_at",
    refreshExpiry,
    "id_token",
    "scope",
  ]
    .map(column)
    .join(", ")
  reads.set(store, async (accountId, userId) => {
    const sql = new StatementBuilder(tables.database)
    const where = `${column("id")} = ${sql.param(accountId)} AND ${column("userId")} = ${sql.param(userId)}`
    let rows: Record<string, unknown>[]
    try {
      rows = await run(`SELECT ${columns} FROM ${tables.accounts} WHERE ${where}`, sql.values)
    } catch (error) {
      throw schemaMismatch(error, tables, "accounts")
    }
    for (const raw of rows) {
      const row = tables.fieldsOf(raw)
      if (text(row.id) !== accountId || text(row.userId) !== userId) continue
      const refreshExpiresAt = seconds(row[refreshExpiry])
      return {
        id: accountId,
        userId,
        providerId: text(row.provider) ?? "",
        accountId: text(row.providerAccountId) ?? "",
        accessToken: text(row.access_token),
        expiresAt: seconds(row.expires_at),
        refreshTokenExpiresAt: refreshExpiresAt === undefined ? undefined : new Date(refreshExpiresAt * 1000),
        idToken: text(row.id_token),
        scope: text(row.scope),
      }
    }
    return undefined
  })
}

/** The store's one-statement read, when it is a Better Auth store built by `betterAuthAccountStore`. @internal */
export function ownAccountReadOf(store: AccountStore): OwnAccountRead | undefined {
  return reads.get(store)
}
