import { describe, expect, test } from "@jest/globals"
import { kyselyAccountStore, type KyselyLike } from "authjs-adapter-refresh/stores/kysely"
import { isKysely, isPgClient, isPgPool, isPrismaClient } from "authjs-adapter-refresh/internal"
import type { Kysely } from "kysely"
import pg from "pg"
import { describeStore, freshKey } from "../../suites/store-suite.js"

describeStore({
  cell: "kysely",
  storeName: "kysely",
  expiresAtAs: "string",
  allowsDuplicates: true,
  extra(ctx) {
    const kysely = () => ctx.a().db as Kysely<unknown>

    describe("detection", () => {
      test("isKysely recognises a Kysely instance and nothing else", () => {
        expect(isKysely(kysely())).toBe(true)
        expect(isPrismaClient(kysely())).toBe(false)
        expect(isPgPool(kysely())).toBe(false)
        expect(isPgClient(kysely())).toBe(false)
        for (const other of [null, undefined, {}, ctx.a().pool]) expect(isKysely(other)).toBe(false)
      })

      test("kyselyAccountStore refuses a Transaction", async () => {
        await kysely()
          .transaction()
          .execute(async (trx) => {
            expect(() => kyselyAccountStore(trx)).toThrow(/Transaction/)
          })
      })
    })

    describe("ids of inserted rows", () => {
      test('by default the insert leaves "id" to the schema\'s gen_random_uuid() default, like linkAccount', async () => {
        const key = freshKey("db-id")
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        await ctx
          .a()
          .store.withAccountLock(key, (account) => account.insert({ ...key, userId, type: "oidc", tokens: {} }))
        const [stored] = await ctx.a().accountRows(key)
        expect(stored?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      })
      test("generateId: true sets a crypto.randomUUID() for schemas without a default; a function supplies its own", async () => {
        const pool = ctx.inspect()
        await pool.query(`CREATE TABLE "AccountNoDefault" (LIKE "Account" INCLUDING CONSTRAINTS)`)
        await pool.query(`ALTER TABLE "AccountNoDefault" ADD PRIMARY KEY ("id")`)
        const key = freshKey("no-default")
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        const insert = (store: ReturnType<typeof kyselyAccountStore>, k = key) =>
          store.withAccountLock(k, (account) => account.insert({ ...k, userId, type: "oidc", tokens: {} }))

        await expect(
          insert(kyselyAccountStore(kysely() as KyselyLike, { accountTable: "AccountNoDefault" })),
        ).rejects.toMatchObject({
          code: "23502", // not_null_violation on "id"
        })
        await insert(kyselyAccountStore(kysely(), { accountTable: "AccountNoDefault", generateId: true }))
        const key2 = freshKey("own-id")
        const ownId = globalThis.crypto.randomUUID()
        await insert(kyselyAccountStore(kysely(), { accountTable: "AccountNoDefault", generateId: () => ownId }), key2)
        const { rows } = await pool.query(
          `SELECT id, "providerAccountId" FROM "AccountNoDefault" ORDER BY "providerAccountId"`,
        )
        expect(rows).toHaveLength(2)
        expect(rows.find((r) => r.providerAccountId === key.providerAccountId)?.id).toMatch(/^[0-9a-f-]{36}$/)
        expect(rows.find((r) => r.providerAccountId === key2.providerAccountId)?.id).toBe(ownId)
      })
    })

    test("a caller that left while the pool was busy gets no BEGIN sent (every statement logged by Kysely)", async () => {
      const { Kysely, PostgresDialect } = await import("kysely")
      // One connection, which the first transaction holds: the second call waits for the pool.
      const pool = new pg.Pool({ connectionString: ctx.url(), max: 1 })
      const sent: string[] = []
      const db = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool }),
        log: (event) => {
          sent.push(event.query.sql)
        },
      })
      try {
        const store = kyselyAccountStore(db)
        const gaveUp = new AbortController()
        let late: Promise<string> | undefined
        await store.withAccountLock(freshKey("pool-busy"), async () => {
          late = store
            .withAccountLock(freshKey("pool-busy-late"), async () => "ran", { signal: gaveUp.signal })
            .then(
              (value) => value,
              (error: unknown) => (error as Error).name,
            )
          await new Promise((resolve) => setTimeout(resolve, 50))
          gaveUp.abort()
          sent.length = 0
        })
        expect(await late).toBe("AbandonedWait")
        // The holder's COMMIT only: the call that was left sent nothing once the pool lent it the connection.
        expect(sent.map((text) => text.split(" ")[0]!.toUpperCase())).toEqual(["COMMIT"])
      } finally {
        await db.destroy()
      }
    })

    test("refuses unsafe table names at construction", () => {
      for (const bad of ['Account"; --', "a.b.c", "", "my table"]) {
        expect(() => kyselyAccountStore(kysely(), { accountTable: bad })).toThrow(/Invalid account table name/)
        expect(() => kyselyAccountStore(kysely(), { userTable: bad })).toThrow(/Invalid user table name/)
      }
    })

    test("ignores the instance's plugins: a CamelCasePlugin does not rename its columns or results", async () => {
      const { CamelCasePlugin } = await import("kysely")
      const camel = kysely().withPlugin(new CamelCasePlugin())
      const store = kyselyAccountStore(camel)
      const key = freshKey("plugins")
      const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
      const read = await store.withAccountLock(key, async (account) => {
        await account.insert({ ...key, userId, type: "oidc", tokens: { access_token: "at", expires_at: 1 } })
        return (await account.readAll())[0]
      })
      expect(read).toMatchObject({ ...key, userId })
      expect(read?.tokens).toMatchObject({ access_token: "at", expires_at: "1" })
    })
  },
})
