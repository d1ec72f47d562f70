/**
 * `copyAuthjsAccounts`: the one-time copy of an Auth.js app's linked accounts (users and tokens, refresh
 * tokens included) into Better Auth's `user` and `account`, so the grants keep working after the move without
 * a new consent. The source is `@auth/pg-adapter`'s `users` and `accounts` tables (one SQL read), or any Auth.js
 * adapter with the store `withTokenSync` used for it (every built-in store, Redis and DynamoDB included, or
 * your own with `scanAccounts`): accounts paged with `scanAccounts`, their users read with the adapter's
 * `getUser`.
 *
 * Rows are written through Better Auth's own internal adapter (`auth.$context`), so its schema, ids and
 * adapter are whatever the app configured. Values under the library's `tokenEncryption` are bound to their
 * Auth.js row and column: they are decrypted with that codec and written as Better Auth stores them
 * (encrypted with its secret when `account.encryptOAuthTokens` is on, ./encryption.ts). Idempotent: a user
 * already there (same email) is reused, an account already there (same provider and provider account id) is
 * left alone, so a copy that stopped half-way is run again.
 */
import type { AuthContext } from "better-auth"
import type { AdapterUser } from "../authjs-types.js"
import { decodeTokens, type TokenCodec } from "../codec.js"
import { resolveAccountStore, type TokenSyncDatabase } from "../detect-store.js"
import { InvalidOptionsError, UnsupportedDatabaseError } from "../errors.js"
import type { AccountKey } from "../store.js"
import { betterAuthTokenCodec } from "./encryption.js"

/** What the copy reads the Auth.js tables with: a node-postgres Pool or Client. */
export interface AuthjsSource {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>
}

/**
 * Any other Auth.js adapter as a source: the adapter (for its users) and what `withTokenSync` was given as `db`
 * for it (the client, or an `AccountStore`), whose store must offer `scanAccounts`.
 */
export interface AuthjsAdapterSource {
  /** The bare Auth.js adapter (or the wrapped one): only `getUser` is called. */
  adapter: { getUser?: ((id: string) => AdapterUser | null | PromiseLike<AdapterUser | null>) | undefined }
  /** `withTokenSync`'s second argument for that adapter. */
  db: TokenSyncDatabase
}

/** Options of {@link copyAuthjsAccounts}. */
export interface CopyAuthjsAccountsOptions {
  /**
   * The Auth.js side: `@auth/pg-adapter`'s database (a pg Pool or Client), or `{ adapter, db }` for any other
   * adapter (see {@link AuthjsAdapterSource}).
   */
  from: AuthjsSource | AuthjsAdapterSource
  /**
   * The Better Auth instance (`betterAuth(...)`) to copy into; its database, secret and encryption are used.
   * Typed loosely: an instance's context is typed by its own options, which no one signature here can name.
   */
  to: { readonly $context: PromiseLike<object> }
  /** The codec the Auth.js app passed to `withTokenSync` (e.g. `tokenEncryption({ keys })`), if any. */
  codec?: TokenCodec
  /** Auth.js's accounts table. Default `"accounts"`. */
  accountsTable?: string
  /** Auth.js's users table. Default `"users"`. */
  usersTable?: string
}

/** What {@link copyAuthjsAccounts} did. */
export interface CopyAuthjsAccountsResult {
  /** Accounts written to Better Auth's `account` table. */
  copied: number
  /** Accounts already in Better Auth's table (a run before this one), left as they are. */
  alreadyThere: number
  /** Users created in Better Auth's `user` table (users found by email are reused). */
  usersCreated: number
  /** Accounts not copied: their Auth.js user has no email, which Better Auth requires. Provider and id only. */
  skipped: { provider: string; providerAccountId: string; reason: "user_without_email" }[]
}

/** One account to copy, with its Auth.js user's fields (null: the user has none, or is gone). */
interface AuthjsAccountRow extends AccountKey {
  userId: unknown
  access_token: unknown
  refresh_token: unknown
  id_token: unknown
  expires_at: unknown
  scope: unknown
  email: string | null
  name: string | null
  image: string | null
  emailVerified: Date | string | null
}

const PAGE = 100

const isAdapterSource = (from: CopyAuthjsAccountsOptions["from"]): from is AuthjsAdapterSource =>
  typeof from === "object" && from !== null && "adapter" in from && "db" in from

/** `@auth/pg-adapter`'s accounts with their users: one statement. */
async function* pgAdapterRows(options: CopyAuthjsAccountsOptions, from: AuthjsSource) {
  const accounts = tableName("accountsTable", options.accountsTable, "accounts")
  const users = tableName("usersTable", options.usersTable, "users")
  const { rows } = await from.query(
    `SELECT a."userId", a.provider, a."providerAccountId", a.access_token, a.refresh_token, a.id_token,
            a.expires_at, a.scope, u.email, u.name, u.image, u."emailVerified"
       FROM ${accounts} a JOIN ${users} u ON u.id = a."userId" ORDER BY a."userId", a.provider, a."providerAccountId"`,
  )
  yield* rows as AuthjsAccountRow[]
}

/** Any adapter's accounts, a page at a time in key order (`scanAccounts`), each with its user (`getUser`). */
async function* adapterRows(from: AuthjsAdapterSource) {
  const store = resolveAccountStore(from.db)
  const getUser = from.adapter?.getUser
  if (!store.scanAccounts)
    throw new UnsupportedDatabaseError(`The ${store.name} account store has no scanAccounts; the copy pages with it.`)
  if (typeof getUser !== "function")
    throw new InvalidOptionsError("from.adapter", "copyAuthjsAccounts: from.adapter must have getUser")
  const users = new Map<string, AdapterUser | null>()
  for (let after: AccountKey | undefined; ;) {
    const page = await store.scanAccounts({ limit: PAGE, ...(after ? { after } : {}) })
    for (const row of page) {
      let user = users.get(row.userId)
      if (user === undefined) users.set(row.userId, (user = await getUser.call(from.adapter, row.userId)))
      const { tokens } = row
      yield {
        userId: row.userId,
        provider: row.provider,
        providerAccountId: String(row.providerAccountId),
        access_token: tokens.access_token ?? null,
        refresh_token: tokens.refresh_token ?? null,
        id_token: tokens.id_token ?? null,
        expires_at: tokens.expires_at ?? null,
        scope: tokens.scope ?? null,
        email: user?.email || null,
        name: user?.name ?? null,
        image: user?.image ?? null,
        emailVerified: user?.emailVerified ?? null,
      } satisfies AuthjsAccountRow
    }
    const last = page.at(-1)
    // A page never splits a key, so fewer keys than asked means the end; rows may outnumber keys.
    if (!last || new Set(page.map((row) => `${row.provider}\u0000${row.providerAccountId}`)).size < PAGE) return
    after = { provider: last.provider, providerAccountId: String(last.providerAccountId) }
  }
}

const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null)

const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

function tableName(option: string, value: string | undefined, fallback: string): string {
  const name = value ?? fallback
  if (!TABLE.test(name)) throw new InvalidOptionsError(option, `${option} must be a plain table name`)
  return `"${name}"`
}

/**
 * Copies every Auth.js account (with its user) into Better Auth. Run it while no Auth.js process can
 * refresh (README, "Moving from Auth.js to Better Auth"): a refresh on the old table after the copy would
 * rotate the grant away from the copied refresh token.
 *
 * `expires_at` (epoch seconds) becomes `accessTokenExpiresAt` (a timestamp); Auth.js's space-separated
 * `scope` becomes Better Auth's comma-separated one; `type`, `token_type` and `session_state` have no Better
 * Auth column and are dropped.
 *
 * @returns Counts, and the accounts left out (no value of a token in it).
 * @throws InvalidOptionsError for a table name that is not a plain identifier; `TokenDecryptionError` for a
 *   stored value the codec cannot decrypt (the accounts before it are copied; run again after fixing the keys).
 */
export async function copyAuthjsAccounts(options: CopyAuthjsAccountsOptions): Promise<CopyAuthjsAccountsResult> {
  const rows = isAdapterSource(options.from) ? adapterRows(options.from) : pgAdapterRows(options, options.from)
  const context = (await options.to.$context) as AuthContext
  const internal = context.internalAdapter
  const betterAuthCodec = context.options.account?.encryptOAuthTokens ? betterAuthTokenCodec(context) : undefined
  const store = async (value: string | null, field: string): Promise<string | undefined> =>
    value === null ? undefined : betterAuthCodec ? betterAuthCodec.encode(value, field) : value

  const result: CopyAuthjsAccountsResult = { copied: 0, alreadyThere: 0, usersCreated: 0, skipped: [] }
  const userIds = new Map<string, string>()
  for await (const row of rows) {
    const { provider, providerAccountId } = row
    if (await internal.findAccountByKey({ providerId: provider, accountId: providerAccountId })) {
      result.alreadyThere++
      continue
    }
    if (!row.email) {
      result.skipped.push({ provider, providerAccountId, reason: "user_without_email" })
      continue
    }
    const authjsUser = String(row.userId)
    let userId = userIds.get(authjsUser)
    if (!userId) {
      const existing = await internal.findUserByEmail(row.email)
      if (existing) userId = existing.user.id
      else {
        const created = await internal.createUser(
          {
            email: row.email,
            name: row.name ?? "",
            image: row.image ?? undefined,
            emailVerified: row.emailVerified !== null,
          },
          // What the app's user.validateUserInfo gate sees as the provisioning method.
          { method: "authjs-migration" },
        )
        userId = created.id
        result.usersCreated++
      }
      userIds.set(authjsUser, userId)
    }
    const key = { provider, providerAccountId }
    const tokens = await decodeTokens(
      { access_token: text(row.access_token), refresh_token: text(row.refresh_token), id_token: text(row.id_token) },
      options.codec,
      key,
    )
    const seconds = row.expires_at === null ? Number.NaN : Number(row.expires_at)
    const expiresAt = Number.isFinite(seconds) ? new Date(seconds * 1000) : undefined
    const scope = text(row.scope)
    await internal.createAccount({
      userId,
      providerId: provider,
      accountId: providerAccountId,
      accessToken: await store(tokens.access_token as string | null, "access_token"),
      refreshToken: await store(tokens.refresh_token as string | null, "refresh_token"),
      idToken: (tokens.id_token as string | null) ?? undefined,
      accessTokenExpiresAt: expiresAt,
      scope: scope === null ? undefined : scope.split(/\s+/).filter(Boolean).join(","),
    })
    result.copied++
  }
  return result
}
