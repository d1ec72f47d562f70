/**
 * The Prisma store's one-statement sign-in on a schema that maps its names (prisma/schema.mapped.prisma:
 * `@@map("oauth_accounts")`, `@map` on most columns, `@updatedAt` mapped too), against real PostgreSQL:
 * the raw UPDATE must find the real table and columns, read from the client's schema text.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { PrismaAdapter } from "@auth/prisma-adapter"
import { PrismaPg } from "@prisma/adapter-pg"
import pg from "pg"
import { withTokenSync, type AccountStore } from "authjs-adapter-refresh"
import { ADVISORY_LOCK_KEY_SQL, prismaAccountTable } from "authjs-adapter-refresh/internal"
import { prismaAccountStore } from "authjs-adapter-refresh/stores/prisma"
import { testDatabase, type TestDatabase } from "../../../src/harness/postgres.js"
import { PrismaClient } from "../../../generated/prisma-mapped/client.js"
import { freshKey } from "../../suites/store-suite.js"

// What `prisma migrate` would create for prisma/schema.mapped.prisma (the tables the tests use).
const TABLES = `
CREATE TABLE "app_users" ("user_id" TEXT PRIMARY KEY, "name" TEXT, "email" TEXT NOT NULL UNIQUE,
  "email_verified" TIMESTAMP(3), "image" TEXT);
CREATE TABLE "oauth_accounts" (
  "owner_id" TEXT NOT NULL REFERENCES "app_users" ("user_id") ON DELETE CASCADE,
  "type" TEXT NOT NULL, "idp" TEXT NOT NULL, "idp_subject" TEXT NOT NULL,
  "refresh_tok" TEXT, "access_tok" TEXT, "expires_at_s" INTEGER, "token_type" TEXT, "scope" TEXT, "id_tok" TEXT,
  "session_state" TEXT, "changed_at" TIMESTAMP(3) NOT NULL,
  CONSTRAINT "oauth_accounts_pkey" PRIMARY KEY ("idp", "idp_subject"));
CREATE TABLE "app_sessions" ("session_token" TEXT NOT NULL UNIQUE,
  "owner_id" TEXT NOT NULL REFERENCES "app_users" ("user_id") ON DELETE CASCADE, "expires" TIMESTAMP(3) NOT NULL);
CREATE TABLE "verification_tokens" ("identifier" TEXT NOT NULL, "token" TEXT NOT NULL, "expires" TIMESTAMP(3) NOT NULL,
  PRIMARY KEY ("identifier", "token"));
`

describe("Prisma store on @map / @@map names (PostgreSQL)", () => {
  let database: TestDatabase
  let pool: pg.Pool
  let inspect: pg.Pool
  let prisma: PrismaClient
  let store: AccountStore

  beforeAll(async () => {
    database = await testDatabase("stores prisma mapped")
    inspect = new pg.Pool({ connectionString: database.url, max: 3 })
    await inspect.query(TABLES)
    pool = new pg.Pool({ connectionString: database.url })
    prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
    store = prismaAccountStore(prisma)
  })

  afterAll(async () => {
    await prisma?.$disconnect()
    await pool?.end()
    await inspect?.end()
    await database?.drop()
  })

  const newUser = async (key: { providerAccountId: string }) =>
    (await prisma.user.create({ data: { email: `${key.providerAccountId}@example.test` } })).id
  const stored = async (key: { provider: string; providerAccountId: string }) =>
    (
      await inspect.query(`SELECT * FROM "oauth_accounts" WHERE "idp" = $1 AND "idp_subject" = $2`, [
        key.provider,
        key.providerAccountId,
      ])
    ).rows

  test("the table and columns are read from the client's schema text", () => {
    const found = prismaAccountTable(prisma, "account")
    expect(found).toMatchObject({
      ok: true,
      table: { schema: "public", table: "oauth_accounts", updatedAt: ["updatedAt"] },
    })
    if (!found.ok) return
    expect(Object.fromEntries(found.table.columns)).toEqual({
      userId: "owner_id",
      type: "type",
      provider: "idp",
      providerAccountId: "idp_subject",
      refresh_token: "refresh_tok",
      access_token: "access_tok",
      expires_at: "expires_at_s",
      token_type: "token_type",
      scope: "scope",
      id_token: "id_tok",
      session_state: "session_state",
      updatedAt: "changed_at",
    })
    expect(typeof store.updateOwnTokens).toBe("function")
  })
  test("updateOwnTokens writes the mapped columns, sets the mapped @updatedAt and returns the row by field names", async () => {
    const key = freshKey("mapped")
    const userId = await newUser(key)
    await store.withAccountLock(key, (account) =>
      account.insert({
        ...key,
        userId,
        type: "oidc",
        tokens: { access_token: "at-1", refresh_token: "rt-1", expires_at: 100 },
      }),
    )
    const before = (await prisma.account.findMany({ where: key }))[0]!.updatedAt.getTime()
    await new Promise((resolve) => setTimeout(resolve, 20))
    const result = await store.updateOwnTokens!(key, userId, { access_token: "at-2", expires_at: 200 }, () => {})
    // PostgreSQL returns the rows as written (MariaDB would give a count).
    if (!Array.isArray(result)) throw new Error("expected the written rows")
    const written = result
    expect(written).toHaveLength(1)
    expect(written[0]).toMatchObject({ ...key, userId, type: "oidc" })
    expect(written[0]?.tokens).toMatchObject({ access_token: "at-2", refresh_token: "rt-1", expires_at: 200 })
    expect(await stored(key)).toEqual([
      expect.objectContaining({ owner_id: userId, access_tok: "at-2", refresh_tok: "rt-1", expires_at_s: 200 }),
    ])
    expect((await prisma.account.findMany({ where: key }))[0]!.updatedAt.getTime()).toBeGreaterThan(before)
  })

  test("writes nothing, without waiting, while another session holds the key's lock", async () => {
    const key = freshKey("mapped-held")
    const userId = await newUser(key)
    await store.withAccountLock(key, (account) =>
      account.insert({ ...key, userId, type: "oidc", tokens: { access_token: "at-1" } }),
    )
    const holder = await inspect.connect()
    try {
      await holder.query("BEGIN")
      await holder.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL})`, [
        key.provider,
        key.providerAccountId,
      ])
      expect(await store.updateOwnTokens!(key, userId, { access_token: "at-2" }, () => {})).toEqual([])
    } finally {
      await holder.query("ROLLBACK")
      holder.release()
    }
    expect(await stored(key)).toEqual([expect.objectContaining({ access_tok: "at-1" })])
  })

  test("a wrapped returning sign-in takes the one statement on the mapped table", async () => {
    const key = freshKey("mapped-sign-in")
    const userId = await newUser(key)
    const wrapped = withTokenSync(PrismaAdapter(prisma), prisma)
    await wrapped.linkAccount!({ ...key, userId, type: "oidc", access_token: "at-1", refresh_token: "rt-1" })
    // The first one-statement sign-in of a store checks the table's columns first (not counted).
    await wrapped.syncAccount({ ...key, userId, access_token: "at-2" })
    const sent: string[] = []
    const query = pg.Client.prototype.query
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string }
      sent.push(typeof first === "string" ? first : (first.text ?? ""))
      return (query as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof query
    try {
      await wrapped.syncAccount({ ...key, userId, access_token: "at-3" })
    } finally {
      pg.Client.prototype.query = query
    }
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatch(/^UPDATE "public"\."oauth_accounts" SET "access_tok" = \$1/)
    expect(await stored(key)).toEqual([expect.objectContaining({ access_tok: "at-3", refresh_tok: "rt-1" })])
  })
})
