import { describe, expect, test } from "@jest/globals"
import { isKysely, isPgClient, isPgPool, isPrismaClient, prismaAccountTable } from "authjs-adapter-refresh/internal"
import { AccountSchemaError, withTokenSync } from "authjs-adapter-refresh"
import { prismaAccountStore } from "authjs-adapter-refresh/stores/prisma"
import type { PrismaClient } from "../../../generated/prisma/client.js"
import { deferred, describeStore, freshKey } from "../../suites/store-suite.js"

describeStore({
  cell: "prisma",
  storeName: "prisma",
  expiresAtAs: "number",
  allowsDuplicates: false,
  extra(ctx) {
    const prisma = () => ctx.a().db as PrismaClient

    describe("detection", () => {
      test("isPrismaClient recognises a PrismaClient (also an extended one) and nothing else", () => {
        expect(isPrismaClient(prisma())).toBe(true)
        expect(isPrismaClient(prisma().$extends({}))).toBe(true)
        expect(isKysely(prisma())).toBe(false)
        expect(isPgPool(prisma())).toBe(false)
        expect(isPgClient(prisma())).toBe(false)
        for (const other of [null, undefined, {}, ctx.a().pool]) expect(isPrismaClient(other)).toBe(false)
      })
    })

    describe("options", () => {
      test("a missing model delegate is reported at construction, naming the option", () => {
        expect(() => prismaAccountStore(prisma(), { accountModel: "oauthAccount" })).toThrow(
          /no model delegate "oauthAccount".*accountModel/,
        )
        expect(() => prismaAccountStore(prisma(), { accountModel: "oauthAccount" })).toThrow(AccountSchemaError)
        expect(() => prismaAccountStore(prisma(), { userModel: "person" })).toThrow(
          /no model delegate "person".*userModel/,
        )
        expect(() => prismaAccountStore(prisma(), { accountModel: "account; --" })).toThrow(/Invalid accountModel/)
        expect(() => prismaAccountStore(prisma(), { transactionTimeoutMs: 0 })).toThrow(/transactionTimeoutMs/)
      })

      test("an extended client works as well", async () => {
        const store = prismaAccountStore(prisma().$extends({}))
        const key = freshKey("extended")
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        await store.withAccountLock(key, (account) =>
          account.insert({ ...key, userId, type: "oidc", tokens: { access_token: "x" } }),
        )
        expect(await ctx.a().accountRows(key)).toEqual([expect.objectContaining({ access_token: "x" })])
      })

      test("a per-call transactionTimeoutMs overrides the store's default, longer or shorter", async () => {
        const store = prismaAccountStore(prisma(), { transactionTimeoutMs: 300 })
        const slow = (ms: number) => async () => {
          await new Promise((resolve) => setTimeout(resolve, ms))
          return "done"
        }
        await expect(
          store.withAccountLock(freshKey("call-tx-long"), slow(600), { transactionTimeoutMs: 5_000 }),
        ).resolves.toBe("done")
        const patient = prismaAccountStore(prisma(), { transactionTimeoutMs: 5_000 })
        await expect(
          patient.withAccountLock(freshKey("call-tx-short"), slow(800), { transactionTimeoutMs: 200 }),
        ).rejects.toThrow()
      })

      test("transactionTimeoutMs bounds the whole transaction; what ran is rolled back", async () => {
        const store = prismaAccountStore(prisma(), { transactionTimeoutMs: 300 })
        const key = freshKey("tx-timeout")
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        const never = deferred()
        const outcome = store.withAccountLock(key, async (account) => {
          await account.insert({ ...key, userId, type: "oidc", tokens: { access_token: "late" } })
          await Promise.race([never.promise, new Promise((resolve) => setTimeout(resolve, 1_000))])
        })
        await expect(outcome).rejects.toThrow()
        expect(await ctx.a().accountRows(key)).toEqual([])
      })
    })

    test("writes through Prisma, so @updatedAt is maintained", async () => {
      const key = freshKey("updated-at")
      const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
      await ctx
        .a()
        .store.withAccountLock(key, (account) => account.insert({ ...key, userId, type: "oidc", tokens: {} }))
      const [before] = await ctx.a().accountRows(key)
      await new Promise((resolve) => setTimeout(resolve, 20))
      await ctx
        .a()
        .store.withAccountLock(key, (account) => account.update({ tokens: { access_token: "new" } }, { userId }))
      const [after] = await ctx.a().accountRows(key)
      expect((after?.updatedAt as Date).getTime()).toBeGreaterThan((before?.updatedAt as Date).getTime())
    })

    describe("the one-statement sign-in's table, read from the client's schema text", () => {
      test("is the documented model's table and columns, also through $extends", () => {
        for (const client of [prisma(), prisma().$extends({})]) {
          const found = prismaAccountTable(client, "account")
          expect(found).toMatchObject({
            ok: true,
            table: { schema: "public", table: "Account", updatedAt: ["updatedAt"] },
          })
          if (found.ok) expect(found.table.columns.get("providerAccountId")).toBe("providerAccountId")
          expect(typeof prismaAccountStore(client).updateOwnTokens).toBe("function")
        }
      })

      test("is not derived where the model or the adapter is not as expected (the store keeps the locked path)", () => {
        expect(prismaAccountTable(prisma(), "session")).toMatchObject({
          ok: false,
          reason: expect.stringMatching(/no field provider/),
        })
        expect(prismaAccountTable(prisma(), "oauthAccount")).toMatchObject({ ok: false })
        expect(prismaAccountTable({}, "account")).toMatchObject({
          ok: false,
          reason: expect.stringMatching(/adapter-pg/),
        })
      })

      test("sets @updatedAt to now, as Prisma does on its own writes", async () => {
        const key = freshKey("one-statement-updated-at")
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        await ctx
          .a()
          .store.withAccountLock(key, (account) =>
            account.insert({ ...key, userId, type: "oidc", tokens: { access_token: "old" } }),
          )
        const read = async () => (await prisma().account.findMany({ where: key }))[0]!.updatedAt.getTime()
        const before = await read()
        await new Promise((resolve) => setTimeout(resolve, 20))
        const asked = Date.now()
        expect(await ctx.a().store.updateOwnTokens!(key, userId, { access_token: "new" }, () => {})).toHaveLength(1)
        const after = await read()
        expect(after).toBeGreaterThan(before)
        // Read back through Prisma (UTC): the instant itself, not shifted by a time zone.
        expect(Math.abs(after - asked)).toBeLessThan(5_000)
      })
      test("writes nothing while the table's columns differ from the model's (checked once, before first use)", async () => {
        const key = freshKey("one-statement-extra-column")
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        await ctx
          .a()
          .store.withAccountLock(key, (account) =>
            account.insert({ ...key, userId, type: "oidc", tokens: { access_token: "old" } }),
          )
        await ctx.a().pool.query(`ALTER TABLE "Account" ADD COLUMN "not_in_model" text`)
        try {
          const store = prismaAccountStore(prisma())
          expect(await store.updateOwnTokens!(key, userId, { access_token: "new" }, () => {})).toEqual([])
          expect(await ctx.a().accountRows(key)).toEqual([expect.objectContaining({ access_token: "old" })])
          // The locked path still writes.
          await withTokenSync(ctx.a().adapter, store).syncAccount({ ...key, userId, access_token: "locked" })
          expect(await ctx.a().accountRows(key)).toEqual([expect.objectContaining({ access_token: "locked" })])
        } finally {
          await ctx.a().pool.query(`ALTER TABLE "Account" DROP COLUMN "not_in_model"`)
        }
        // A token field the model lacks, or no token at all: nothing sent, the locked path decides.
        const nothingSent = () => {
          throw new Error("begin() called")
        }
        expect(await ctx.a().store.updateOwnTokens!(key, userId, { not_a_field: "x" }, nothingSent)).toEqual([])
        expect(
          await ctx.a().store.updateOwnTokens!(key, userId, { access_token: undefined } as never, nothingSent),
        ).toEqual([])
      })
    })
  },
})
