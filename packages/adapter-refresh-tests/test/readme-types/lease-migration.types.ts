// The README's "Lease mode: the migration" table objects and migration, type-checked.
import {
  bigint as mysqlBigint,
  datetime,
  mysqlTable,
  primaryKey as mysqlPrimaryKey,
  varchar,
} from "drizzle-orm/mysql-core"
import { bigint, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core"
import { integer, primaryKey as sqlitePrimaryKey, sqliteTable, text as sqliteText } from "drizzle-orm/sqlite-core"
import { sql, type Kysely } from "kysely"

export const refreshLease = pgTable(
  "authjs_refresh_lease",
  {
    provider: text("provider").notNull(),
    providerAccountId: text("provider_account_id").notNull(),
    fence: bigint("fence", { mode: "bigint" }).notNull(),
    holder: text("holder").notNull(),
    leaseUntil: timestamp("lease_until", { precision: 3, withTimezone: true }),
  },
  (table) => [primaryKey({ columns: [table.provider, table.providerAccountId] })],
)

export const mysqlRefreshLease = mysqlTable(
  "authjs_refresh_lease",
  {
    provider: varchar("provider", { length: 255 }).notNull(),
    providerAccountId: varchar("provider_account_id", { length: 255 }).notNull(),
    fence: mysqlBigint("fence", { mode: "bigint" }).notNull(),
    holder: varchar("holder", { length: 64 }).notNull(),
    leaseUntil: datetime("lease_until", { fsp: 3 }),
  },
  (table) => [mysqlPrimaryKey({ columns: [table.provider, table.providerAccountId] })],
)

export const sqliteRefreshLease = sqliteTable(
  "authjs_refresh_lease",
  {
    provider: sqliteText("provider").notNull(),
    providerAccountId: sqliteText("provider_account_id").notNull(),
    fence: integer("fence").notNull(),
    holder: sqliteText("holder").notNull(),
    leaseUntil: integer("lease_until"),
  },
  (table) => [sqlitePrimaryKey({ columns: [table.provider, table.providerAccountId] })],
)

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("authjs_refresh_lease")
    .addColumn("provider", "text", (column) => column.notNull())
    .addColumn("provider_account_id", "text", (column) => column.notNull())
    .addColumn("fence", "bigint", (column) => column.notNull())
    .addColumn("holder", "text", (column) => column.notNull())
    .addColumn("lease_until", sql`timestamptz(3)`)
    .addPrimaryKeyConstraint("authjs_refresh_lease_pkey", ["provider", "provider_account_id"])
    .execute()
}
