/**
 * Better Auth through its Prisma and Drizzle adapters (`better-auth/adapters/prisma`,
 * `better-auth/adapters/drizzle`), with the schemas its CLI generates (`npx @better-auth/cli generate`):
 *
 *   - "prisma": the Prisma 7 client of prisma/schema.better-auth.prisma on `@prisma/adapter-pg` (camelCase
 *     columns, `@@map` to Better Auth's table names); the tables from Better Auth's own migration;
 *   - "prisma-mariadb": the same on MariaDB (schema.better-auth.mysql.prisma, `@prisma/adapter-mariadb`);
 *   - "drizzle": `drizzle(pool, { schema })` with Better Auth's Drizzle tables for PostgreSQL (snake_case
 *     columns, `timestamp` expiries); the tables from the same DDL drizzle-kit would run for them;
 *   - "drizzle-sqlite": the same on SQLite, `drizzle(better-sqlite3 file, { schema })`, whose expiries are
 *     epoch milliseconds (`integer(..., { mode: "timestamp_ms" })`);
 *   - "drizzle-mariadb": the same on MariaDB, `drizzle(mysql2 pool, { schema })`, expiries `timestamp(3)`.
 *
 * Each gives Better Auth its adapter (the function) and the plugin the client it was built from. Used by the
 * Better Auth plugin's tests and their storm workers; nothing published imports this file.
 */
import { PrismaMariaDb } from "@prisma/adapter-mariadb"
import { PrismaPg } from "@prisma/adapter-pg"
import type { BetterAuthDatabase } from "authjs-adapter-refresh/better-auth"
import type { BetterAuthOptions } from "better-auth"
import { drizzleAdapter } from "better-auth/adapters/drizzle"
import { prismaAdapter } from "better-auth/adapters/prisma"
import { getMigrations } from "better-auth/db/migration"
import { and, eq, sql } from "drizzle-orm"
import { drizzle as drizzleSqlite } from "drizzle-orm/better-sqlite3"
import { drizzle as drizzleMysql } from "drizzle-orm/mysql2"
import {
  boolean as mysqlBoolean,
  mysqlTable,
  text as mysqlText,
  timestamp as mysqlTimestamp,
  varchar,
} from "drizzle-orm/mysql-core"
import mysql from "mysql2/promise"
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres"
import { boolean, pgTable, text, timestamp } from "drizzle-orm/pg-core"
import { integer, sqliteTable, text as sqliteText } from "drizzle-orm/sqlite-core"
import pg from "pg"
import { PrismaClient } from "../../generated/prisma-better-auth/client.js"
import { PrismaClient as PrismaMysqlClient } from "../../generated/prisma-better-auth-mysql/client.js"
import { openSqlite } from "../harness/sqlite.js"

/** Which of Better Auth's adapters: Prisma on PostgreSQL or MariaDB, Drizzle on PostgreSQL, SQLite or MariaDB. */
export type BetterAuthOrm = "prisma" | "prisma-mariadb" | "drizzle" | "drizzle-sqlite" | "drizzle-mariadb"

/** An account row as the tests read it. */
export interface BetterAuthOrmRow {
  accessToken: string
  refreshToken: string
  accessTokenExpiresAt: Date
  /** The expiry's stored type as the driver reads it ("object": a timestamp; "number": SQLite's epoch ms). */
  expiryType: string
}

/** Better Auth's database through one of its ORM adapters. */
export interface BetterAuthOrmDatabase {
  orm: BetterAuthOrm
  /** Better Auth's `database`: `prismaAdapter(prisma, ...)` or `drizzleAdapter(db, ...)`. */
  adapter: NonNullable<BetterAuthOptions["database"]>
  /** The client the adapter was built from: the plugin's `database`. */
  client: BetterAuthDatabase
  /** Better Auth's account rows of (providerId, accountId), read through the ORM. */
  findAccount(providerId: string, accountId: string): Promise<{ id: string; userId: string }[]>
  /** The account row `id`, read with the database's own SQL by the names the schema gives its columns. */
  row(id: string): Promise<BetterAuthOrmRow>
  /** Sets the account's access-token expiry a minute in the past (the tokens stay real). */
  expire(id: string): Promise<void>
  /** Runs one statement of the tests' own (the lease table). */
  exec(sql: string): Promise<void>
  close(): Promise<void>
}

// Better Auth's Drizzle schema for PostgreSQL, as its CLI writes it (column names in snake_case).
const user = pgTable("user", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  email: text("email").notNull().unique(),
  emailVerified: boolean("email_verified").default(false).notNull(),
  image: text("image"),
  createdAt: timestamp("created_at").defaultNow().notNull(),
  updatedAt: timestamp("updated_at")
    .defaultNow()
    .$onUpdate(() => new Date())
    .notNull(),
})
const session = pgTable("session", {
  id: text("id").primaryKey(),
  expiresAt: timestamp("expires_at").notNull(),
  token: text("token").notNull().unique(),
  createdAt: timestamp("created_at").defaultNow().notNull(),
  updatedAt: timestamp("updated_at")
    .$onUpdate(() => new Date())
    .notNull(),
  ipAddress: text("ip_address"),
  userAgent: text("user_agent"),
  userId: text("user_id")
    .notNull()
    .references(() => user.id, { onDelete: "cascade" }),
})
const account = pgTable("account", {
  id: text("id").primaryKey(),
  accountId: text("account_id").notNull(),
  providerId: text("provider_id").notNull(),
  userId: text("user_id")
    .notNull()
    .references(() => user.id, { onDelete: "cascade" }),
  accessToken: text("access_token"),
  refreshToken: text("refresh_token"),
  idToken: text("id_token"),
  accessTokenExpiresAt: timestamp("access_token_expires_at"),
  refreshTokenExpiresAt: timestamp("refresh_token_expires_at"),
  scope: text("scope"),
  password: text("password"),
  createdAt: timestamp("created_at").defaultNow().notNull(),
  updatedAt: timestamp("updated_at")
    .$onUpdate(() => new Date())
    .notNull(),
})
const verification = pgTable("verification", {
  id: text("id").primaryKey(),
  identifier: text("identifier").notNull(),
  value: text("value").notNull(),
  expiresAt: timestamp("expires_at").notNull(),
  createdAt: timestamp("created_at").defaultNow().notNull(),
  updatedAt: timestamp("updated_at")
    .defaultNow()
    .$onUpdate(() => new Date())
    .notNull(),
})

/** Better Auth's Drizzle tables, the `schema` of `drizzleAdapter(db, { provider: "pg", schema })`. */
export const betterAuthDrizzleSchema = { user, session, account, verification }

/** The tables of betterAuthDrizzleSchema, as drizzle-kit creates them on PostgreSQL. */
const DRIZZLE_DDL = `
CREATE TABLE "user" (
  "id" text PRIMARY KEY, "name" text NOT NULL, "email" text NOT NULL UNIQUE,
  "email_verified" boolean DEFAULT false NOT NULL, "image" text,
  "created_at" timestamp DEFAULT now() NOT NULL, "updated_at" timestamp DEFAULT now() NOT NULL
);
CREATE TABLE "session" (
  "id" text PRIMARY KEY, "expires_at" timestamp NOT NULL, "token" text NOT NULL UNIQUE,
  "created_at" timestamp DEFAULT now() NOT NULL, "updated_at" timestamp NOT NULL,
  "ip_address" text, "user_agent" text,
  "user_id" text NOT NULL REFERENCES "user"("id") ON DELETE CASCADE
);
CREATE TABLE "account" (
  "id" text PRIMARY KEY, "account_id" text NOT NULL, "provider_id" text NOT NULL,
  "user_id" text NOT NULL REFERENCES "user"("id") ON DELETE CASCADE,
  "access_token" text, "refresh_token" text, "id_token" text,
  "access_token_expires_at" timestamp, "refresh_token_expires_at" timestamp,
  "scope" text, "password" text,
  "created_at" timestamp DEFAULT now() NOT NULL, "updated_at" timestamp NOT NULL
);
CREATE TABLE "verification" (
  "id" text PRIMARY KEY, "identifier" text NOT NULL, "value" text NOT NULL, "expires_at" timestamp NOT NULL,
  "created_at" timestamp DEFAULT now() NOT NULL, "updated_at" timestamp DEFAULT now() NOT NULL
);`

/** The tests' own statements on PostgreSQL, by the account table's column names. */
function pgRows(pool: pg.Pool, columns: { access: string; refresh: string; expiry: string; now: string }) {
  return {
    async row(id: string): Promise<BetterAuthOrmRow> {
      const { rows } = await pool.query<BetterAuthOrmRow>(
        `SELECT "${columns.access}" AS "accessToken", "${columns.refresh}" AS "refreshToken", ` +
          `"${columns.expiry}" AS "accessTokenExpiresAt", pg_typeof("${columns.expiry}")::text AS "expiryType" ` +
          `FROM "account" WHERE "id" = $1`,
        [id],
      )
      return rows[0]!
    },
    async expire(id: string) {
      await pool.query(
        `UPDATE "account" SET "${columns.expiry}" = ${columns.now} - interval '1 minute' WHERE "id" = $1`,
        [id],
      )
    },
    async exec(sql: string) {
      await pool.query(sql)
    },
  }
}

/**
 * Better Auth's database at `url` (PostgreSQL; a file path for "drizzle-sqlite") through `orm`. With
 * `migrate`, creates its tables first (Prisma: Better Auth's own migration, which names them as the Prisma
 * schema does; Drizzle: the DDL drizzle-kit runs for Better Auth's schema).
 */
export async function openBetterAuthOrm(
  orm: BetterAuthOrm,
  url: string,
  options: { migrate?: boolean } = {},
): Promise<BetterAuthOrmDatabase> {
  if (orm === "drizzle-sqlite") return openDrizzleSqlite(url, options)
  if (orm === "drizzle-mariadb") return openDrizzleMariadb(url, options)
  if (orm === "prisma-mariadb") return openPrismaMariadb(url, options)
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  if (orm === "prisma") {
    if (options.migrate) {
      const { runMigrations } = await getMigrations({ database: pool, telemetry: { enabled: false } })
      await runMigrations()
    }
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
    return {
      orm,
      adapter: prismaAdapter(prisma, { provider: "postgresql" }),
      client: prisma,
      findAccount: (providerId, accountId) =>
        prisma.account.findMany({ where: { providerId, accountId }, select: { id: true, userId: true } }),
      // Better Auth's migration makes its dates timestamptz.
      ...pgRows(pool, { access: "accessToken", refresh: "refreshToken", expiry: "accessTokenExpiresAt", now: "now()" }),
      async close() {
        await prisma.$disconnect()
        await pool.end()
      },
    }
  }
  if (options.migrate) await pool.query(DRIZZLE_DDL)
  const db = drizzlePg(pool, { schema: betterAuthDrizzleSchema })
  return {
    orm,
    adapter: drizzleAdapter(db, { provider: "pg", schema: betterAuthDrizzleSchema }),
    client: db,
    findAccount: (providerId, accountId) =>
      db
        .select({ id: account.id, userId: account.userId })
        .from(account)
        .where(and(eq(account.providerId, providerId), eq(account.accountId, accountId))),
    // Drizzle's `timestamp` has no zone and holds UTC, whatever the session's time zone.
    ...pgRows(pool, {
      access: "access_token",
      refresh: "refresh_token",
      expiry: "access_token_expires_at",
      now: "(now() AT TIME ZONE 'UTC')",
    }),
    close: () => pool.end(),
  }
}

// Better Auth's Drizzle schema for SQLite, as its CLI writes it: dates as epoch milliseconds.
const msNow = sql`(cast(unixepoch('subsecond') * 1000 as integer))`
const sqliteUser = sqliteTable("user", {
  id: sqliteText("id").primaryKey(),
  name: sqliteText("name").notNull(),
  email: sqliteText("email").notNull().unique(),
  emailVerified: integer("email_verified", { mode: "boolean" }).default(false).notNull(),
  image: sqliteText("image"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).default(msNow).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" })
    .default(msNow)
    .$onUpdate(() => new Date())
    .notNull(),
})
const sqliteSession = sqliteTable("session", {
  id: sqliteText("id").primaryKey(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  token: sqliteText("token").notNull().unique(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).default(msNow).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" })
    .$onUpdate(() => new Date())
    .notNull(),
  ipAddress: sqliteText("ip_address"),
  userAgent: sqliteText("user_agent"),
  userId: sqliteText("user_id")
    .notNull()
    .references(() => sqliteUser.id, { onDelete: "cascade" }),
})
const sqliteAccount = sqliteTable("account", {
  id: sqliteText("id").primaryKey(),
  accountId: sqliteText("account_id").notNull(),
  providerId: sqliteText("provider_id").notNull(),
  userId: sqliteText("user_id")
    .notNull()
    .references(() => sqliteUser.id, { onDelete: "cascade" }),
  accessToken: sqliteText("access_token"),
  refreshToken: sqliteText("refresh_token"),
  idToken: sqliteText("id_token"),
  accessTokenExpiresAt: integer("access_token_expires_at", { mode: "timestamp_ms" }),
  refreshTokenExpiresAt: integer("refresh_token_expires_at", { mode: "timestamp_ms" }),
  scope: sqliteText("scope"),
  password: sqliteText("password"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).default(msNow).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" })
    .$onUpdate(() => new Date())
    .notNull(),
})
const sqliteVerification = sqliteTable("verification", {
  id: sqliteText("id").primaryKey(),
  identifier: sqliteText("identifier").notNull(),
  value: sqliteText("value").notNull(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).default(msNow).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" })
    .default(msNow)
    .$onUpdate(() => new Date())
    .notNull(),
})

/** Better Auth's Drizzle tables for SQLite. */
export const betterAuthDrizzleSqliteSchema = {
  user: sqliteUser,
  session: sqliteSession,
  account: sqliteAccount,
  verification: sqliteVerification,
}

/** The tables of betterAuthDrizzleSqliteSchema, as drizzle-kit creates them on SQLite. */
const DRIZZLE_SQLITE_DDL = `
CREATE TABLE "user" (
  "id" text PRIMARY KEY NOT NULL, "name" text NOT NULL, "email" text NOT NULL UNIQUE,
  "email_verified" integer DEFAULT false NOT NULL, "image" text,
  "created_at" integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
  "updated_at" integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
CREATE TABLE "session" (
  "id" text PRIMARY KEY NOT NULL, "expires_at" integer NOT NULL, "token" text NOT NULL UNIQUE,
  "created_at" integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
  "updated_at" integer NOT NULL, "ip_address" text, "user_agent" text,
  "user_id" text NOT NULL REFERENCES "user"("id") ON DELETE CASCADE
);
CREATE TABLE "account" (
  "id" text PRIMARY KEY NOT NULL, "account_id" text NOT NULL, "provider_id" text NOT NULL,
  "user_id" text NOT NULL REFERENCES "user"("id") ON DELETE CASCADE,
  "access_token" text, "refresh_token" text, "id_token" text,
  "access_token_expires_at" integer, "refresh_token_expires_at" integer, "scope" text, "password" text,
  "created_at" integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
  "updated_at" integer NOT NULL
);
CREATE TABLE "verification" (
  "id" text PRIMARY KEY NOT NULL, "identifier" text NOT NULL, "value" text NOT NULL, "expires_at" integer NOT NULL,
  "created_at" integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
  "updated_at" integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);`

async function openDrizzleSqlite(file: string, options: { migrate?: boolean }): Promise<BetterAuthOrmDatabase> {
  const sqlite = openSqlite(file)
  if (options.migrate) sqlite.exec(DRIZZLE_SQLITE_DDL)
  const db = drizzleSqlite(sqlite, { schema: betterAuthDrizzleSqliteSchema })
  const table = sqliteAccount
  return {
    orm: "drizzle-sqlite",
    adapter: drizzleAdapter(db, { provider: "sqlite", schema: betterAuthDrizzleSqliteSchema }),
    client: db,
    findAccount: async (providerId, accountId) =>
      db
        .select({ id: table.id, userId: table.userId })
        .from(table)
        .where(and(eq(table.providerId, providerId), eq(table.accountId, accountId)))
        .all(),
    async row(id) {
      const row = sqlite
        .prepare(
          `SELECT "access_token" AS "accessToken", "refresh_token" AS "refreshToken", ` +
            `"access_token_expires_at" AS "at", typeof("access_token_expires_at") AS "type" ` +
            `FROM "account" WHERE "id" = ?`,
        )
        .get(id) as { accessToken: string; refreshToken: string; at: number; type: string }
      return {
        accessToken: row.accessToken,
        refreshToken: row.refreshToken,
        accessTokenExpiresAt: new Date(row.at),
        expiryType: row.type,
      }
    },
    async expire(id) {
      sqlite.prepare(`UPDATE "account" SET "access_token_expires_at" = ? WHERE "id" = ?`).run(Date.now() - 60_000, id)
    },
    async exec(statement) {
      sqlite.exec(statement)
    },
    close: async () => void sqlite.close(),
  }
}

// Better Auth's Drizzle schema for MySQL/MariaDB, as its CLI writes it.
const mysqlUser = mysqlTable("user", {
  id: varchar("id", { length: 36 }).primaryKey(),
  name: mysqlText("name").notNull(),
  email: varchar("email", { length: 255 }).notNull().unique(),
  emailVerified: mysqlBoolean("email_verified").default(false).notNull(),
  image: mysqlText("image"),
  createdAt: mysqlTimestamp("created_at", { fsp: 3 }).defaultNow().notNull(),
  updatedAt: mysqlTimestamp("updated_at", { fsp: 3 })
    .defaultNow()
    .$onUpdate(() => new Date())
    .notNull(),
})
const mysqlSession = mysqlTable("session", {
  id: varchar("id", { length: 36 }).primaryKey(),
  expiresAt: mysqlTimestamp("expires_at", { fsp: 3 }).notNull(),
  token: varchar("token", { length: 255 }).notNull().unique(),
  createdAt: mysqlTimestamp("created_at", { fsp: 3 }).defaultNow().notNull(),
  updatedAt: mysqlTimestamp("updated_at", { fsp: 3 })
    .$onUpdate(() => new Date())
    .notNull(),
  ipAddress: mysqlText("ip_address"),
  userAgent: mysqlText("user_agent"),
  userId: varchar("user_id", { length: 36 })
    .notNull()
    .references(() => mysqlUser.id, { onDelete: "cascade" }),
})
const mysqlAccount = mysqlTable("account", {
  id: varchar("id", { length: 36 }).primaryKey(),
  accountId: mysqlText("account_id").notNull(),
  providerId: mysqlText("provider_id").notNull(),
  userId: varchar("user_id", { length: 36 })
    .notNull()
    .references(() => mysqlUser.id, { onDelete: "cascade" }),
  accessToken: mysqlText("access_token"),
  refreshToken: mysqlText("refresh_token"),
  idToken: mysqlText("id_token"),
  accessTokenExpiresAt: mysqlTimestamp("access_token_expires_at", { fsp: 3 }),
  refreshTokenExpiresAt: mysqlTimestamp("refresh_token_expires_at", { fsp: 3 }),
  scope: mysqlText("scope"),
  password: mysqlText("password"),
  createdAt: mysqlTimestamp("created_at", { fsp: 3 }).defaultNow().notNull(),
  updatedAt: mysqlTimestamp("updated_at", { fsp: 3 })
    .$onUpdate(() => new Date())
    .notNull(),
})
const mysqlVerification = mysqlTable("verification", {
  id: varchar("id", { length: 36 }).primaryKey(),
  identifier: varchar("identifier", { length: 255 }).notNull(),
  value: mysqlText("value").notNull(),
  expiresAt: mysqlTimestamp("expires_at", { fsp: 3 }).notNull(),
  createdAt: mysqlTimestamp("created_at", { fsp: 3 }).defaultNow().notNull(),
  updatedAt: mysqlTimestamp("updated_at", { fsp: 3 })
    .defaultNow()
    .$onUpdate(() => new Date())
    .notNull(),
})

/** Better Auth's Drizzle tables for MySQL/MariaDB. */
export const betterAuthDrizzleMysqlSchema = {
  user: mysqlUser,
  session: mysqlSession,
  account: mysqlAccount,
  verification: mysqlVerification,
}

/** The tables of betterAuthDrizzleMysqlSchema, as drizzle-kit creates them on MySQL, one statement each. */
const DRIZZLE_MYSQL_DDL = [
  "CREATE TABLE `user` (`id` varchar(36) PRIMARY KEY, `name` text NOT NULL, `email` varchar(255) NOT NULL UNIQUE, " +
    "`email_verified` boolean DEFAULT false NOT NULL, `image` text, " +
    "`created_at` timestamp(3) DEFAULT CURRENT_TIMESTAMP(3) NOT NULL, " +
    "`updated_at` timestamp(3) DEFAULT CURRENT_TIMESTAMP(3) NOT NULL)",
  "CREATE TABLE `session` (`id` varchar(36) PRIMARY KEY, `expires_at` timestamp(3) NOT NULL, " +
    "`token` varchar(255) NOT NULL UNIQUE, `created_at` timestamp(3) DEFAULT CURRENT_TIMESTAMP(3) NOT NULL, " +
    "`updated_at` timestamp(3) NOT NULL, `ip_address` text, `user_agent` text, " +
    "`user_id` varchar(36) NOT NULL REFERENCES `user`(`id`) ON DELETE CASCADE)",
  "CREATE TABLE `account` (`id` varchar(36) PRIMARY KEY, `account_id` text NOT NULL, `provider_id` text NOT NULL, " +
    "`user_id` varchar(36) NOT NULL REFERENCES `user`(`id`) ON DELETE CASCADE, " +
    "`access_token` text, `refresh_token` text, `id_token` text, " +
    "`access_token_expires_at` timestamp(3) NULL, `refresh_token_expires_at` timestamp(3) NULL, " +
    "`scope` text, `password` text, `created_at` timestamp(3) DEFAULT CURRENT_TIMESTAMP(3) NOT NULL, " +
    "`updated_at` timestamp(3) NOT NULL)",
  "CREATE TABLE `verification` (`id` varchar(36) PRIMARY KEY, `identifier` varchar(255) NOT NULL, " +
    "`value` text NOT NULL, `expires_at` timestamp(3) NOT NULL, " +
    "`created_at` timestamp(3) DEFAULT CURRENT_TIMESTAMP(3) NOT NULL, " +
    "`updated_at` timestamp(3) DEFAULT CURRENT_TIMESTAMP(3) NOT NULL)",
]

async function openDrizzleMariadb(url: string, options: { migrate?: boolean }): Promise<BetterAuthOrmDatabase> {
  const pool = mysql.createPool({ uri: url, connectionLimit: 10 })
  if (options.migrate) for (const statement of DRIZZLE_MYSQL_DDL) await pool.query(statement)
  const db = drizzleMysql(pool, { schema: betterAuthDrizzleMysqlSchema, mode: "default" })
  const table = mysqlAccount
  return {
    orm: "drizzle-mariadb",
    adapter: drizzleAdapter(db, { provider: "mysql", schema: betterAuthDrizzleMysqlSchema }),
    client: db,
    findAccount: (providerId, accountId) =>
      db
        .select({ id: table.id, userId: table.userId })
        .from(table)
        .where(and(eq(table.providerId, providerId), eq(table.accountId, accountId))),
    ...mariadbRows(pool, { access: "access_token", refresh: "refresh_token", expiry: "access_token_expires_at" }),
    close: () => pool.end(),
  }
}

/** The tests' own statements on MariaDB, by the account table's column names. */
function mariadbRows(pool: mysql.Pool, columns: { access: string; refresh: string; expiry: string }) {
  return {
    async row(id: string): Promise<BetterAuthOrmRow> {
      const [rows] = await pool.query<mysql.RowDataPacket[]>(
        `SELECT \`${columns.access}\` AS accessToken, \`${columns.refresh}\` AS refreshToken, ` +
          `\`${columns.expiry}\` AS accessTokenExpiresAt, ` +
          "(SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() " +
          `AND TABLE_NAME = 'account' AND COLUMN_NAME = '${columns.expiry}') AS expiryType ` +
          "FROM `account` WHERE `id` = ?",
        [id],
      )
      return rows[0] as BetterAuthOrmRow
    },
    async expire(id: string) {
      await pool.query(`UPDATE \`account\` SET \`${columns.expiry}\` = NOW(3) - INTERVAL 1 MINUTE WHERE \`id\` = ?`, [
        id,
      ])
    },
    async exec(statement: string) {
      await pool.query(statement)
    },
  }
}

async function openPrismaMariadb(url: string, options: { migrate?: boolean }): Promise<BetterAuthOrmDatabase> {
  const pool = mysql.createPool({ uri: url, connectionLimit: 4 })
  if (options.migrate) {
    const { runMigrations } = await getMigrations({ database: pool, telemetry: { enabled: false } })
    await runMigrations()
  }
  const parsed = new URL(url)
  const prisma = new PrismaMysqlClient({
    adapter: new PrismaMariaDb({
      host: parsed.hostname,
      port: Number(parsed.port || 3306),
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database: parsed.pathname.slice(1),
      connectionLimit: 10,
    }),
  })
  return {
    orm: "prisma-mariadb",
    adapter: prismaAdapter(prisma, { provider: "mysql" }),
    client: prisma,
    findAccount: (providerId, accountId) =>
      prisma.account.findMany({ where: { providerId, accountId }, select: { id: true, userId: true } }),
    ...mariadbRows(pool, { access: "accessToken", refresh: "refreshToken", expiry: "accessTokenExpiresAt" }),
    async close() {
      await prisma.$disconnect()
      await pool.end()
    },
  }
}
