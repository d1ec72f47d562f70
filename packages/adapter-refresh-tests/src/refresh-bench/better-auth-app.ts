/**
 * Better Auth 1.7 (the real `better-auth` package, a dev dependency of this package only) set up the way its
 * documentation shows for a custom OIDC provider: `betterAuth({ database: pg Pool, plugins: [genericOAuth] })`,
 * pointed at the local rotating oidc-provider. Used by `pnpm bench --only=better-auth` as a third contender
 * beside this library and the naive guide approach. Nothing published imports this file.
 *
 *   - betterAuthOptions: the options every process builds its instance from (the storm workers too);
 *   - migrateBetterAuth: creates Better Auth's tables (`user`, `session`, `account`, `verification`) with its
 *     own migration API (`getMigrations`, what `npx @better-auth/cli migrate` runs);
 *   - startBetterAuthApp: serves the instance over HTTP (`toNodeHandler`) and signs a user in through the
 *     real authorization-code flow, so Better Auth itself stores the account row with a real, rotating grant.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { betterAuth, type BetterAuthOptions } from "better-auth"
import { getMigrations } from "better-auth/db/migration"
import { toNodeHandler } from "better-auth/node"
import { genericOAuth } from "better-auth/plugins/generic-oauth"
import type { TokenCacheHandle, TokenCacheInvalidation } from "authjs-adapter-refresh"
import { tokenSync } from "authjs-adapter-refresh/better-auth"
import type BetterSqlite from "better-sqlite3"
import type { Pool as Mysql2Pool } from "mysql2/promise"
import type pg from "pg"
import { findForm, type Browser, type BrowserResponse } from "../harness/browser.js"
import type { BetterAuthOrmDatabase } from "./better-auth-orm.js"
import type { StormProviderSettings } from "./storm-protocol.js"

/** What a process needs to build the same Better Auth instance as the others (JSON-safe, for the storm workers). */
export interface BetterAuthSettings {
  /** Better Auth's `secret` (random per run). */
  secret: string
  /** Better Auth's `baseURL`: the origin its HTTP handler listens on (the callback URL derives from it). */
  baseURL: string
  /**
   * With this library's Better Auth plugin (`tokenSync`, lease mode): its refresh settings. Absent: plain
   * Better Auth. `tokenEndpoint` sends the plugin's refresh grants elsewhere (a delaying proxy in tests).
   */
  tokenSync?: {
    skewSeconds: number
    tokenEndpoint?: string
    /** The plugin's `refresh.cache` (its channel, if any, is given to `startBetterAuthApp` apart: not JSON). */
    cache?: { maxAgeMs?: number; maxEntries?: number }
    /** The plugin's `reauthMark`. */
    reauthMark?: boolean
  }
  /** Better Auth's `account.encryptOAuthTokens` (default off, as Better Auth's). */
  encryptOAuthTokens?: boolean
  /** Better Auth's versioned `secrets` (current first), for secret rotation; `secret` stays the legacy one. */
  secrets?: { version: number; value: string }[]
  /** Better Auth's `account.storeAccountCookie` (the signed account cookie `useAccountCookie` selects by). */
  storeAccountCookie?: boolean
}

/** One account Better Auth linked by a sign-in: what `auth.api.getAccessToken` selects it by. */
export interface BetterAuthAccount {
  userId: string
  /** Better Auth's own account row id (`account.id`), not the provider's subject. */
  accountId: string
}

/**
 * The database Better Auth is given, as its built-in Kysely adapter takes it: a pg Pool (PostgreSQL), a
 * mysql2/promise pool (MariaDB) or a better-sqlite3 Database on a file (SQLite); or its Prisma or Drizzle
 * adapter on PostgreSQL (better-auth-orm.ts: the adapter for Better Auth, its client for the plugin).
 */
export type BetterAuthTestDatabase = pg.Pool | Mysql2Pool | BetterSqlite.Database | BetterAuthOrmDatabase

/** The database when it is one of Better Auth's ORM adapters. */
const ormOf = (database: BetterAuthTestDatabase): BetterAuthOrmDatabase | undefined =>
  "orm" in database && "adapter" in database ? database : undefined

/** Better Auth's account row of (providerId, accountId), read with the database's own SQL (or its ORM). */
export async function findBetterAuthAccount(
  database: BetterAuthTestDatabase,
  providerId: string,
  accountId: string,
): Promise<{ id: string; userId: string }[]> {
  const orm = ormOf(database)
  if (orm) return orm.findAccount(providerId, accountId)
  if ("aggregate" in database)
    return database
      .prepare(`SELECT "id", "userId" FROM "account" WHERE "providerId" = ? AND "accountId" = ?`)
      .all(providerId, accountId) as { id: string; userId: string }[]
  if ("getConnection" in database) {
    const [rows] = await database.query(
      "SELECT `id`, `userId` FROM `account` WHERE `providerId` = ? AND `accountId` = ?",
      [providerId, accountId],
    )
    return rows as { id: string; userId: string }[]
  }
  const { rows } = await (database as pg.Pool).query<{ id: string; userId: string }>(
    `SELECT "id", "userId" FROM "account" WHERE "providerId" = $1 AND "accountId" = $2`,
    [providerId, accountId],
  )
  return rows
}

export function betterAuthOptions(
  pool: BetterAuthTestDatabase,
  provider: StormProviderSettings,
  settings: BetterAuthSettings,
  /** The plugin's token-cache channel (with `settings.tokenSync.cache`). */
  invalidation?: TokenCacheInvalidation,
) {
  const orm = ormOf(pool)
  return {
    database: orm ? orm.adapter : (pool as Exclude<BetterAuthTestDatabase, BetterAuthOrmDatabase>),
    secret: settings.secret,
    baseURL: settings.baseURL,
    telemetry: { enabled: false },
    ...(settings.encryptOAuthTokens || settings.storeAccountCookie
      ? {
          account: {
            ...(settings.encryptOAuthTokens ? { encryptOAuthTokens: true } : {}),
            ...(settings.storeAccountCookie ? { storeAccountCookie: true } : {}),
          },
        }
      : {}),
    ...(settings.secrets ? { secrets: settings.secrets } : {}),
    // Its log lines go to stderr (the storm workers speak JSON on stdout), level and message only.
    logger: { level: "error", log: (level, message) => process.stderr.write(`better-auth ${level}: ${message}\n`) },
    plugins: [
      ...(settings.tokenSync
        ? [
            tokenSync({
              // With Better Auth's Prisma or Drizzle adapter, the client it was built from.
              ...(orm ? { database: orm.client } : {}),
              refresh: {
                providers: [
                  {
                    id: provider.id,
                    type: "oidc",
                    issuer: provider.issuer,
                    clientId: provider.clientId,
                    clientSecret: provider.clientSecret,
                    ...(settings.tokenSync.tokenEndpoint ? { token: settings.tokenSync.tokenEndpoint } : {}),
                  },
                ],
                skewSeconds: settings.tokenSync.skewSeconds,
                minRefreshIntervalSeconds: 0,
                ...(settings.tokenSync.cache
                  ? { cache: { ...settings.tokenSync.cache, ...(invalidation ? { invalidation } : {}) } }
                  : {}),
              },
              ...(settings.tokenSync.reauthMark ? { reauthMark: true } : {}),
            }),
          ]
        : []),
      genericOAuth({
        config: [
          {
            providerId: provider.id,
            discoveryUrl: `${provider.issuer}/.well-known/openid-configuration`,
            clientId: provider.clientId,
            clientSecret: provider.clientSecret,
            // The fixture client authenticates with client_secret_basic (Auth.js's default).
            authentication: "basic",
            scopes: ["openid", "email", "profile", "offline_access"],
            // oidc-provider issues a refresh token for offline_access only with prompt=consent.
            prompt: "consent",
          },
        ],
      }),
    ],
  } satisfies BetterAuthOptions
}

export function createBetterAuth(
  pool: BetterAuthTestDatabase,
  provider: StormProviderSettings,
  settings: BetterAuthSettings,
  invalidation?: TokenCacheInvalidation,
) {
  return betterAuth(betterAuthOptions(pool, provider, settings, invalidation))
}

/** The plugin's token cache of an instance's options (undefined without the plugin or its cache). */
function tokenCacheOf(options: ReturnType<typeof betterAuthOptions>): TokenCacheHandle | undefined {
  for (const plugin of options.plugins) if ("tokenCache" in plugin && plugin.tokenCache) return plugin.tokenCache
  return undefined
}

export type BetterAuthInstance = ReturnType<typeof createBetterAuth>

/** Creates Better Auth's tables in the database with Better Auth's own migration API. */
export async function migrateBetterAuth(
  pool: BetterAuthTestDatabase,
  provider: StormProviderSettings,
  settings: BetterAuthSettings,
): Promise<void> {
  const { runMigrations } = await getMigrations(betterAuthOptions(pool, provider, settings))
  await runMigrations()
}

export interface BetterAuthApp {
  auth: BetterAuthInstance
  settings: BetterAuthSettings
  /** The plugin's token cache, with `tokenSync.cache`. */
  tokenCache: TokenCacheHandle | undefined
  /** Signs `login` in through Better Auth's social sign-in and the provider's login and consent pages. */
  signIn(browser: Browser, login: string): Promise<BetterAuthAccount>
  stop(): Promise<void>
}

/**
 * Serves a Better Auth instance on 127.0.0.1 (a free port), registers its callback URL with the provider
 * (`addRedirectUri`), and migrates its schema.
 */
export async function startBetterAuthApp(options: {
  pool: BetterAuthTestDatabase
  provider: StormProviderSettings
  addRedirectUri: (uri: string) => void
  secret: string
  tokenSync?: BetterAuthSettings["tokenSync"]
  encryptOAuthTokens?: boolean
  secrets?: BetterAuthSettings["secrets"]
  storeAccountCookie?: boolean
  /** The plugin's token-cache channel (with `tokenSync.cache`), e.g. `pgNotifyInvalidation`. */
  cacheInvalidation?: TokenCacheInvalidation
}): Promise<BetterAuthApp> {
  // The base URL must be known before the instance exists: listen first, then hand requests over.
  let handler:
    | ((
        req: Parameters<ReturnType<typeof toNodeHandler>>[0],
        res: Parameters<ReturnType<typeof toNodeHandler>>[1],
      ) => Promise<void>)
    | undefined = undefined
  const server: Server = createServer((req, res) => {
    if (!handler) {
      res.statusCode = 503
      res.end()
      return
    }
    handler(req, res).catch(() => {
      res.statusCode = 500
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const settings: BetterAuthSettings = {
    secret: options.secret,
    baseURL: origin,
    ...(options.tokenSync ? { tokenSync: options.tokenSync } : {}),
    ...(options.encryptOAuthTokens ? { encryptOAuthTokens: true } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
    ...(options.storeAccountCookie ? { storeAccountCookie: true } : {}),
  }
  // Better Auth's migration runs on its Kysely adapter only; an ORM's tables are made by better-auth-orm.ts.
  if (!ormOf(options.pool)) await migrateBetterAuth(options.pool, options.provider, settings)
  const instanceOptions = betterAuthOptions(options.pool, options.provider, settings, options.cacheInvalidation)
  const auth = betterAuth(instanceOptions)
  handler = toNodeHandler(auth)
  options.addRedirectUri(`${origin}/api/auth/callback/${options.provider.id}`)

  const signIn = async (browser: Browser, login: string): Promise<BetterAuthAccount> => {
    // The client's first step (authClient.signIn.social): POST JSON, get the provider's authorization URL
    // and Better Auth's signed state cookie.
    const start = await fetch(`${origin}/api/auth/sign-in/social`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ provider: options.provider.id, callbackURL: `${origin}/` }),
    })
    for (const cookie of start.headers.getSetCookie())
      await browser.jar.setCookie(cookie, origin, { ignoreError: true })
    const body = (await start.json()) as { url?: string; code?: string }
    if (!start.ok || !body.url) throw new Error(`Better Auth sign-in/social -> ${start.status} ${body.code ?? ""}`)

    let page: BrowserResponse = await browser.get(body.url)
    for (let step = 0; step < 6 && new URL(page.url).origin !== origin; step++) {
      const loginForm = findForm(page, { field: "prompt", value: "login" })
      if (loginForm) {
        page = await browser.submit(loginForm, { login, password: "any-password" })
        continue
      }
      const consent = findForm(page, { field: "prompt", value: "consent" })
      if (consent) {
        page = await browser.submit(consent)
        continue
      }
      break
    }
    const callbackHop = page.hops.find((hop) => hop.url.startsWith(`${origin}/api/auth/callback/`))
    if (!callbackHop || !callbackHop.location || new URL(callbackHop.location).searchParams.has("error")) {
      throw new Error(
        `Better Auth sign-in did not complete: ` +
          `${page.hops.map((hop) => `${hop.method} ${new URL(hop.url).pathname} -> ${hop.status}`).join(", ")}`,
      )
    }
    const rows = await findBetterAuthAccount(options.pool, options.provider.id, login)
    if (rows.length !== 1) throw new Error(`expected one Better Auth account row for ${login}, found ${rows.length}`)
    return { userId: rows[0]!.userId, accountId: rows[0]!.id }
  }

  const tokenCache = tokenCacheOf(instanceOptions)
  return {
    auth,
    settings,
    tokenCache,
    signIn,
    async stop() {
      await tokenCache?.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
