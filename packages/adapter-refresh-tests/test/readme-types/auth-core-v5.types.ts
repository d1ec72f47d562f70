/**
 * Type test, checked by `pnpm typecheck` (tsc, strict): the README's lines compile unchanged against
 * @auth/core's `AuthConfig` (what next-auth 5's `NextAuth(config)` takes), with each @auth/* adapter, and
 * `refresh.providers` takes @auth/core's provider objects. No casts. next-auth 5 itself is checked by
 * scripts/check-npm-install.sh, which installs it from npm.
 */
import type { AuthConfig } from "@auth/core"
import type { Adapter } from "@auth/core/adapters"
import Google from "@auth/core/providers/google"
import Keycloak from "@auth/core/providers/keycloak"
import GitHub from "@auth/core/providers/github"
import { PrismaAdapter } from "@auth/prisma-adapter"
import { KyselyAdapter, type Database } from "@auth/kysely-adapter"
import PostgresAdapter from "@auth/pg-adapter"
import SequelizeAdapter from "@auth/sequelize-adapter"
import { withTokenSync } from "authjs-adapter-refresh"
import type { Kysely } from "kysely"
import type { Pool } from "pg"
import type { Model, ModelStatic, Sequelize } from "sequelize"
import type { PrismaClient } from "../../generated/prisma/client"
import type { PrismaClient as MysqlPrismaClient } from "../../generated/prisma-mysql/client"
import type { PrismaClient as SqlitePrismaClient } from "../../generated/prisma-sqlite/client"
import { prismaAccountStore } from "authjs-adapter-refresh/stores/prisma"
import { sequelizeAccountStore } from "authjs-adapter-refresh/stores/sequelize"

declare const prisma: PrismaClient
declare const db: Kysely<Database>
declare const pool: Pool

// README quick starts.
const adapter = withTokenSync(PrismaAdapter(prisma), prisma)
export const config: AuthConfig = { adapter, events: adapter.events, providers: [/* ... */] }
const kysely = withTokenSync(KyselyAdapter(db), db)
export const kyselyConfig: AuthConfig = { adapter: kysely, events: kysely.events, providers: [] }
const pg = withTokenSync(PostgresAdapter(pool), pool)
export const pgConfig: AuthConfig = { adapter: pg, events: pg.events, providers: [] }
declare const sequelize: Sequelize
const onSequelize = withTokenSync(SequelizeAdapter(sequelize), sequelize)
export const sequelizeConfig: AuthConfig = { adapter: onSequelize, events: onSequelize.events, providers: [] }
// Custom models: the store is given the same models, typed as Sequelize types them.
declare const Account: ModelStatic<Model>
declare const User: ModelStatic<Model>
export const sequelizeStore = sequelizeAccountStore(sequelize, { models: { Account, User } })

// The Prisma line on MySQL/MariaDB (@prisma/adapter-mariadb) and SQLite (@prisma/adapter-better-sqlite3)
// clients, and the explicit store for a client whose database cannot be read.
declare const prismaMysql: MysqlPrismaClient
declare const prismaSqlite: SqlitePrismaClient
const onMysql = withTokenSync(PrismaAdapter(prismaMysql), prismaMysql)
export const mysqlConfig: AuthConfig = { adapter: onMysql, events: onMysql.events, providers: [] }
const onSqlite = withTokenSync(PrismaAdapter(prismaSqlite), prismaSqlite)
export const sqliteConfig: AuthConfig = { adapter: onSqlite, events: onSqlite.events, providers: [] }
export const explicit = withTokenSync(
  PrismaAdapter(prismaSqlite),
  prismaAccountStore(prismaSqlite, { database: "sqlite" }),
)

// The wrapped adapter keeps the input adapter's type.
export const keepsType: Adapter = adapter

// README, "your own events.signIn".
export const ownEvents: AuthConfig = {
  adapter,
  providers: [],
  events: {
    async signIn(message) {
      await adapter.events.signIn(message)
      // ...your own code
    },
  },
}

// README, getAccessToken: the same provider objects as Auth.js.
const google = Google({ clientId: "id", clientSecret: "secret" })
const providers = [
  google,
  Keycloak({ clientId: "id", clientSecret: "s", issuer: "https://kc.example/realms/r" }),
  GitHub({ clientId: "id", clientSecret: "s" }),
]
export const refreshing = withTokenSync(PrismaAdapter(prisma), prisma, { refresh: { providers } })
export const refreshingConfig: AuthConfig = { adapter: refreshing, events: refreshing.events, providers }

// Negative checks: these must stay errors, or the lines above prove nothing.
// @ts-expect-error a value that shares no method with an Auth.js adapter is not an adapter
withTokenSync({ notAnAdapter: true }, prisma)
// @ts-expect-error a provider object needs an id
withTokenSync(PrismaAdapter(prisma), prisma, { refresh: { providers: [{ clientId: "x" }] } })

// The Drizzle lines: the same line on each supported driver, and custom tables passed to both.
import { DrizzleAdapter } from "@auth/drizzle-adapter"
import { drizzleAccountStore } from "authjs-adapter-refresh/stores/drizzle"
import type { NodePgDatabase } from "drizzle-orm/node-postgres"
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js"
import type { MySql2Database } from "drizzle-orm/mysql2"
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3"
import { pgTable, text, integer, timestamp, primaryKey } from "drizzle-orm/pg-core"

declare const drizzlePg: NodePgDatabase
declare const drizzlePostgresJs: PostgresJsDatabase
declare const drizzleMysql: MySql2Database
declare const drizzleSqlite: BetterSQLite3Database
/** The README line, verbatim, for a db of the given type. */
function drizzleLine(db: NodePgDatabase | PostgresJsDatabase | MySql2Database | BetterSQLite3Database): AuthConfig {
  const adapter = withTokenSync(DrizzleAdapter(db), db) // db = drizzle(...)
  return { adapter, events: adapter.events, providers: [] }
}
export const drizzleConfigs: AuthConfig[] = [drizzlePg, drizzlePostgresJs, drizzleMysql, drizzleSqlite].map(drizzleLine)
const onDrizzleMysql = withTokenSync(DrizzleAdapter(drizzleMysql), drizzleMysql)
export const drizzleMysqlConfig: AuthConfig = { adapter: onDrizzleMysql, events: onDrizzleMysql.events, providers: [] }
const onDrizzleSqlite = withTokenSync(DrizzleAdapter(drizzleSqlite), drizzleSqlite)
export const drizzleSqliteConfig: AuthConfig = {
  adapter: onDrizzleSqlite,
  events: onDrizzleSqlite.events,
  providers: [],
}

const usersTable = pgTable("app_user", {
  id: text("id").primaryKey(),
  name: text("name"),
  email: text("email").unique(),
  emailVerified: timestamp("email_verified", { mode: "date" }),
  image: text("image"),
})
const accountsTable = pgTable(
  "app_account",
  {
    userId: text("user_id").notNull(),
    type: text("type").$type<"oauth" | "oidc" | "email" | "webauthn">().notNull(),
    provider: text("provider").notNull(),
    providerAccountId: text("provider_account_id").notNull(),
    refresh_token: text("refresh_token"),
    access_token: text("access_token"),
    expires_at: integer("expires_at"),
    token_type: text("token_type"),
    scope: text("scope"),
    id_token: text("id_token"),
    session_state: text("session_state"),
  },
  (account) => [primaryKey({ columns: [account.provider, account.providerAccountId] })],
)
const sessionsTable = pgTable("app_session", {
  sessionToken: text("session_token").primaryKey(),
  userId: text("user_id").notNull(),
  expires: timestamp("expires", { mode: "date" }).notNull(),
})
const verificationTokensTable = pgTable("app_verification_token", {
  identifier: text("identifier").notNull(),
  token: text("token").notNull(),
  expires: timestamp("expires", { mode: "date" }).notNull(),
})
function drizzleCustomTables(db: NodePgDatabase): AuthConfig {
  const adapter = withTokenSync(
    DrizzleAdapter(db, { usersTable, accountsTable, sessionsTable, verificationTokensTable }),
    drizzleAccountStore(db, { usersTable, accountsTable }),
  )
  return { adapter, events: adapter.events, providers: [] }
}
export const drizzleCustomConfig: AuthConfig = drizzleCustomTables(drizzlePg)

// README, "Scopes": the option (an array or a space-delimited string) and the error's fields.
import { InsufficientScopeError } from "authjs-adapter-refresh"
declare const userId: string
export async function withScopes(): Promise<string> {
  const calendar = "https://www.googleapis.com/auth/calendar.readonly"
  try {
    const { accessToken } = await refreshing.getAccessToken({ userId, provider: "google", scopes: ["email", calendar] })
    return accessToken
  } catch (e) {
    if (!(e instanceof InsufficientScopeError)) throw e
    return ["openid", "email", ...e.missingScopes].join(" ")
  }
}
export const asString = refreshing.getAccessToken({ userId, provider: "google", scopes: "openid email" })
// @ts-expect-error scopes are strings
export const notStrings = refreshing.getAccessToken({ userId, provider: "google", scopes: [1] })
