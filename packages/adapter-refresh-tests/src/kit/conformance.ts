import { randomUUID } from "node:crypto"
import { inspect } from "node:util"
import type { Adapter, AdapterAccount, AdapterUser } from "@auth/core/adapters"
import {
  AccountLinkedToAnotherUserError,
  InvalidAccountInputError,
  InvalidOptionsError,
  withTokenSync,
  type AccountKey,
  type AccountLeases,
  type HeldLease,
  type OwnTokensWritten,
  type StoredAccountRow,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import type { ConformanceFixture, ConformanceFixtureModule, ConformanceCell, IsolatedDatabase } from "./fixture.js"
import { resolveTestRunner } from "./resolve-test-runner.js"
import { peakOverlap, runInWorkerProcesses, runLeaseWorkers } from "./run-workers.js"
import type { TestRunner } from "./test-runner.js"
import type { WorkerOperation } from "./worker-protocol.js"

const TOKEN_FIELDS = ["access_token", "refresh_token", "id_token", "scope", "token_type", "session_state"] as const
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

async function defaultDatabase(name: string): Promise<IsolatedDatabase> {
  // The test-database helpers are optional (the "/postgres" subpath, which needs pg): a target that
  // brings its own database through `database` never loads them.
  const { testDatabase } = await import("../harness/postgres.js")
  return testDatabase(`kit_${name.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}`)
}

/** A full token set whose every field carries `tag`, so a stored row shows which input it came from. */
function taggedTokens(tag: string, expiresAt: number): Record<string, string | number> {
  return {
    access_token: `at.${tag}`,
    refresh_token: `rt.${tag}`,
    id_token: `idt.${tag}`,
    scope: `openid scope.${tag}`,
    token_type: `bearer.${tag}`,
    session_state: `ss.${tag}`,
    expires_at: expiresAt,
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

/** The tag each token column of a stored row carries (undefined for a column that has no tag). */
function tagsOf(row: Record<string, unknown>): (string | undefined)[] {
  return TOKEN_FIELDS.map(
    (field) => /(?:^|[. ])(?:at|rt|idt|scope|bearer|ss)\.(\S+)$/.exec(String(row[field] ?? ""))?.[1],
  )
}

/**
 * Runs the conformance kit for one cell (an adapter + store pair on a database):
 * (a) the wrapped adapter still honours the Auth.js adapter contract, (b) the token-sync behaviour,
 * (c) concurrency from several OS processes. Call it at the top level of a test file.
 *
 * @param runner The test runner's functions (Vitest's or Jest's `describe`, `it`, `expect`, `beforeAll`,
 *   `afterAll`). Default: the runner's globals (Jest injects them; Vitest with `globals: true`).
 * @returns Nothing: it registers the suite's tests with the runner, which reports them.
 * @throws TypeError at once when no runner is given and the runner's globals are absent.
 * @example
 * ```ts
 * import { describe, it, expect, beforeAll, afterAll } from "vitest"
 * import { runConformanceSuite } from "authjs-adapter-refresh-tests"
 *
 * runConformanceSuite(
 *   { name: "my-orm", fixtureModule: new URL("./my-fixture.ts", import.meta.url) },
 *   { describe, it, expect, beforeAll, afterAll },
 * )
 * ```
 */
export function runConformanceSuite(cell: ConformanceCell, runner?: TestRunner): void {
  const { afterAll, beforeAll, describe, expect, it } = resolveTestRunner(runner)
  const processes = Math.max(2, cell.processes ?? 2)
  const callersPerProcess = cell.callersPerProcess ?? 25
  let database: IsolatedDatabase
  let fixtureModule: ConformanceFixtureModule
  let fixture: ConformanceFixture
  let adapter: TokenSyncAdapter<Adapter>
  const moduleUrl = (): string => (cell.fixtureModule instanceof URL ? cell.fixtureModule.href : cell.fixtureModule)

  const newUser = async (): Promise<AdapterUser> => {
    const id = randomUUID()
    return adapter.createUser!({ id, email: `${id}@example.test`, emailVerified: null, name: "Kit User" })
  }
  const newKey = (): AccountKey => ({ provider: "kit-oidc", providerAccountId: `sub-${randomUUID()}` })
  const rows = (key: AccountKey): Promise<Record<string, unknown>[]> => fixture.accountRows(key)
  /** How many rows `updateOwnTokens` wrote, whether it returned them or only their count. */
  const writtenCount = (written: OwnTokensWritten): number =>
    Array.isArray(written) ? written.length : written.written
  const linkFresh = async (userId: string, key: AccountKey, tag = "first"): Promise<AdapterAccount> =>
    adapter.linkAccount({ ...key, userId, type: "oidc", ...taggedTokens(tag, nowSeconds() + 3600) } as AdapterAccount)

  describe(`authjs-adapter-refresh conformance: ${cell.name}`, () => {
    beforeAll(async () => {
      database = await (cell.database ?? (() => defaultDatabase(cell.name)))()
      fixtureModule = (await import(moduleUrl())) as ConformanceFixtureModule
      await fixtureModule.prepareDatabase(database.url)
      fixture = await fixtureModule.createFixture(database.url)
      adapter = withTokenSync(fixture.adapter, fixture.db)
    }, 60_000)

    afterAll(async () => {
      await fixture?.close()
      await database?.drop()
    }, 60_000)

    describe("(a) the wrapped adapter keeps the Auth.js adapter contract", () => {
      it("exposes every method as an own enumerable property, unchanged ones as the very same functions", () => {
        const replaced = new Set(["linkAccount", "getUserByAccount"])
        for (const [name, method] of Object.entries(fixture.adapter)) {
          expect(Object.keys(adapter)).toContain(name)
          if (!replaced.has(name)) expect((adapter as unknown as Record<string, unknown>)[name]).toBe(method)
        }
        for (const name of ["linkAccount", "getUserByAccount", "syncAccount"]) {
          expect(typeof (adapter as unknown as Record<string, unknown>)[name]).toBe("function")
        }
      })

      if (cell.expectedStoreName) {
        it(`recognises the client as a ${cell.expectedStoreName} store`, () => {
          expect(adapter.accountStore.name).toBe(cell.expectedStoreName)
        })
      }

      it("creates, reads, updates and deletes users", async () => {
        const user = await newUser()
        expect(await adapter.getUser!(user.id)).toMatchObject({ id: user.id, email: user.email })
        expect(await adapter.getUserByEmail!(user.email)).toMatchObject({ id: user.id })
        expect(await adapter.updateUser!({ id: user.id, name: "Renamed" })).toMatchObject({
          id: user.id,
          name: "Renamed",
        })
        await adapter.deleteUser?.(user.id)
        expect(await adapter.getUser!(user.id)).toBeNull()
      })

      it("links an account, finds the user by it, and unlinks it", async () => {
        const user = await newUser()
        const key = newKey()
        const linked = await linkFresh(user.id, key)
        const expected = { ...key, userId: user.id, type: "oidc", access_token: "at.first" }
        const [stored] = await rows(key)
        // Ids compared as text: serial ids (@auth/pg-adapter) are numbers in the row and in Auth.js's user.
        expect({ ...stored, userId: String(stored?.userId) }).toMatchObject({ ...expected, userId: String(user.id) })
        // What linkAccount resolves to is the bare adapter's (checked below): @auth/drizzle-adapter's resolves to
        // nothing.
        if (linked !== undefined) expect(linked).toMatchObject(expected)
        expect(await adapter.getUserByAccount(key)).toMatchObject({ id: user.id })
        await adapter.unlinkAccount!(key)
        expect(await adapter.getUserByAccount(key)).toBeNull()
        expect(await rows(key)).toHaveLength(0)
      })

      // Auth.js's own adapter suite (runBasicTests) links this account; every bare adapter stores it.
      const authjsSuiteAccount = (key: AccountKey, userId: string): Record<string, unknown> => ({
        ...key,
        userId,
        type: "oauth",
        access_token: `at.${randomUUID()}`,
        expires_at: 2_592_000, // one month in seconds: a 1970 date
        id_token: `idt.${randomUUID()}`,
        refresh_token: `rt.${randomUUID()}`,
        token_type: "bearer",
        scope: "user",
        session_state: `ss.${randomUUID()}`,
      })
      it("stores the Auth.js adapter suite's account (expires_at 2592000, a 1970 date) as given and finds it again", async () => {
        const user = await newUser()
        const key = newKey()
        const input = authjsSuiteAccount(key, user.id)
        await adapter.linkAccount(input as unknown as AdapterAccount)
        const [row, ...more] = await rows(key)
        expect(more).toHaveLength(0)
        expect({ ...row, expires_at: Number(row!.expires_at) }).toMatchObject(input)
        expect(await adapter.getUserByAccount(key)).toMatchObject({ id: user.id, email: user.email })
        if (adapter.getAccount)
          expect(await adapter.getAccount(key.providerAccountId, key.provider)).toMatchObject({
            ...key,
            expires_at: 2_592_000,
          })
      })
      it("takes a numeric providerAccountId, stored as its decimal text as the bare adapters that take one store it", async () => {
        const numericId = (): number => 100_000_000 + Math.floor(Math.random() * 800_000_000)
        const [bareUser, user] = [await newUser(), await newUser()]
        const bareId = numericId()
        // The bare adapter may refuse a number (Prisma checks types); where it takes one, compare rows.
        const bareLink = fixture.adapter.linkAccount!.bind(fixture.adapter) as (account: unknown) => Promise<unknown>
        const bareTook = await bareLink({
          provider: "kit-numeric",
          providerAccountId: bareId,
          userId: bareUser.id,
          type: "oauth",
          access_token: "at.bare",
        }).then(
          () => true,
          () => false,
        )
        const id = numericId()
        await adapter.linkAccount({
          provider: "kit-numeric",
          providerAccountId: id,
          userId: user.id,
          type: "oauth",
          access_token: "at.n",
        } as never)
        const key = { provider: "kit-numeric", providerAccountId: String(id) }
        const [row] = await rows(key)
        expect(row).toMatchObject({ ...key, access_token: "at.n" })
        expect(await adapter.getUserByAccount(key)).toMatchObject({ id: user.id })
        // Where the bare adapter took a number too, it stored it under the same decimal text, except on
        // SQLite, where better-sqlite3 binds a JS number as REAL and a TEXT column keeps "193780201.0": there
        // the bare adapter's row cannot be found under Auth.js's string key, and ours can.
        if (bareTook) {
          const bareRows = await rows({ provider: "kit-numeric", providerAccountId: String(bareId) })
          if (bareRows.length > 0) expect(String(bareRows[0]?.providerAccountId)).toBe(String(bareId))
        }
      })

      /** A link result with the per-row parts (ids, keys, timestamps) replaced by their types. */
      const comparable = (result: unknown): unknown => {
        if (typeof result !== "object" || result === null) return result
        return Object.fromEntries(
          Object.entries(result).map(([field, value]) => [
            field,
            [
              "id",
              "userId",
              "providerAccountId",
              "access_token",
              "refresh_token",
              "id_token",
              "session_state",
            ].includes(field) || value instanceof Date
              ? `<${value instanceof Date ? "Date" : typeof value}>`
              : value,
          ]),
        )
      }
      it.each([
        ["the Auth.js adapter suite's account", (key: AccountKey, userId: string) => authjsSuiteAccount(key, userId)],
        [
          "an account with only an access token",
          (key: AccountKey, userId: string) => ({ ...key, userId, type: "oidc", access_token: `at.${randomUUID()}` }),
        ],
      ])(
        "linkAccount returns what the bare adapter's own linkAccount returns for %s (shape, id types, nulls)",
        async (_label, build) => {
          const [bareUser, user] = [await newUser(), await newUser()]
          const bareInput = build(newKey(), bareUser.id)
          const bareResult: unknown = await fixture.adapter.linkAccount!(bareInput as unknown as AdapterAccount)
          const input = build(newKey(), user.id)
          const result: unknown = await adapter.linkAccount(input as unknown as AdapterAccount)
          expect(comparable(result)).toEqual(comparable(bareResult))
          // An adapter that hands back the very object it was given (Kysely's) is matched exactly.
          if (bareResult === bareInput) expect(result).toBe(input)
        },
      )

      it("deleteUser removes the user's accounts and sessions, also one linked through the wrapper", async () => {
        const user = await newUser()
        const key = newKey()
        await adapter.linkAccount(authjsSuiteAccount(key, user.id) as unknown as AdapterAccount)
        const sessionToken = randomUUID()
        await adapter.createSession!({ sessionToken, userId: user.id, expires: new Date(Date.now() + 86_400_000) })
        await adapter.deleteUser!(user.id)
        expect(await adapter.getUser!(user.id)).toBeNull()
        expect(await adapter.getUserByAccount(key)).toBeNull()
        expect(await adapter.getSessionAndUser!(sessionToken)).toBeNull()
        expect(await rows(key)).toHaveLength(0)
      })

      it("creates, reads, updates and deletes database sessions", async () => {
        const user = await newUser()
        const sessionToken = randomUUID()
        const expires = new Date(Date.now() + 86_400_000)
        await adapter.createSession!({ sessionToken, userId: user.id, expires })
        const found = await adapter.getSessionAndUser!(sessionToken)
        expect(found?.user.id).toBe(user.id)
        expect(found?.session.expires.getTime()).toBe(expires.getTime())
        const later = new Date(expires.getTime() + 60_000)
        // Auth.js ignores updateSession's return value (and @auth/pg-adapter returns none), so check the row.
        await adapter.updateSession!({ sessionToken, expires: later })
        expect((await adapter.getSessionAndUser!(sessionToken))?.session.expires.getTime()).toBe(later.getTime())
        await adapter.deleteSession!(sessionToken)
        expect(await adapter.getSessionAndUser!(sessionToken)).toBeNull()
      })

      it("uses a verification token exactly once", async () => {
        const token = {
          identifier: `${randomUUID()}@example.test`,
          token: randomUUID(),
          expires: new Date(Date.now() + 60_000),
        }
        await adapter.createVerificationToken!(token)
        expect(await adapter.useVerificationToken!({ identifier: token.identifier, token: token.token })).toMatchObject(
          { token: token.token },
        )
        expect(await adapter.useVerificationToken!({ identifier: token.identifier, token: token.token })).toBeNull()
      })
    })

    describe("(b) token sync", () => {
      it("stores a returning sign-in's tokens (Auth.js hands them only to events.signIn)", async () => {
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        // What Auth.js does on a returning sign-in: a key-only look-up, then the event with the raw account.
        const found = await adapter.getUserByAccount(key)
        expect(found?.id).toBe(user.id)
        // One expiry for the input and the assertion: a second boundary may pass between the two.
        const expiresAt = nowSeconds() + 7200
        await adapter.events.signIn({
          user: found!,
          account: { ...key, type: "oidc", ...taggedTokens("second", expiresAt) },
        })
        const [row, ...more] = await rows(key)
        expect(more).toHaveLength(0)
        expect(tagsOf(row!)).toEqual(TOKEN_FIELDS.map(() => "second"))
        expect(Number(row!.expires_at)).toBe(expiresAt)
      })
      it("events.signIn takes the owner from Auth.js's user, not from a userId the provider put into account", async () => {
        const user = await newUser()
        const other = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        // Auth.js spreads the provider's raw token response into `account`: its extras are the provider's word.
        const account = {
          ...key,
          type: "oidc" as const,
          userId: other.id,
          ...taggedTokens("second", nowSeconds() + 7200),
        }
        await adapter.events.signIn({ user, account })
        const [row, ...more] = await rows(key)
        expect(more).toHaveLength(0)
        expect(row!.userId).toBe(user.id)
        expect(tagsOf(row!)).toEqual(TOKEN_FIELDS.map(() => "second"))
      })

      it("writes tokens passed to getUserByAccount before looking the user up", async () => {
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        const found = await adapter.getUserByAccount({ ...key, access_token: "at.from-lookup" })
        expect(found?.id).toBe(user.id)
        expect((await rows(key))[0]?.access_token).toBe("at.from-lookup")
      })

      it("keeps the stored refresh_token when a sign-in brings none (Google's returning sign-in)", async () => {
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        await adapter.syncAccount({
          ...key,
          userId: user.id,
          access_token: "at.google-2",
          refresh_token: undefined,
          id_token: null,
          scope: "",
        })
        const [row] = await rows(key)
        expect(row).toMatchObject({
          access_token: "at.google-2",
          refresh_token: "rt.first",
          id_token: "idt.first",
          scope: "openid scope.first",
        })
      })

      it("replaces the refresh_token when a new one is issued", async () => {
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        const stored = await adapter.syncAccount({ ...key, refresh_token: "rt.rotated" })
        expect(stored?.refresh_token).toBe("rt.rotated")
        expect((await rows(key))[0]?.refresh_token).toBe("rt.rotated")
      })

      it.each([
        ["epoch seconds", (s: number) => ({ expires_at: s })],
        ["epoch milliseconds", (s: number) => ({ expires_at: s * 1000 + 999 })],
        ["expires_in only", (s: number) => ({ expires_in: s - nowSeconds() })],
      ])("stores expires_at as integer epoch seconds from %s", async (_label, expiry) => {
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        const target = nowSeconds() + 5000
        await adapter.syncAccount({ ...key, access_token: "at.x", ...expiry(target) })
        const stored = Number((await rows(key))[0]?.expires_at)
        expect(Number.isInteger(stored)).toBe(true)
        expect(Math.abs(stored - target)).toBeLessThanOrEqual(1)
      })

      it("ignores the raw token response's extras", async () => {
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        const stored = await adapter.syncAccount({
          ...key,
          access_token: "at.extras",
          expires_in: 300,
          refresh_expires_in: 1800,
          "not-before-policy": 0,
          upstream_idp: "corp",
        })
        expect(stored).not.toHaveProperty("refresh_expires_in")
        const [row] = await rows(key)
        expect(row!.access_token).toBe("at.extras")
        for (const extra of ["expires_in", "refresh_expires_in", "not-before-policy", "upstream_idp"])
          expect(row).not.toHaveProperty(extra)
      })

      it("linking the same account twice leaves one row with the newer tokens", async () => {
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key, "one")
        await linkFresh(user.id, key, "two")
        const stored = await rows(key)
        expect(stored).toHaveLength(1)
        expect(tagsOf(stored[0]!)).toEqual(TOKEN_FIELDS.map(() => "two"))
      })

      it("refuses to link an account that belongs to another existing user, writing nothing", async () => {
        const owner = await newUser()
        const intruder = await newUser()
        const key = newKey()
        await linkFresh(owner.id, key, "owner")
        await expect(linkFresh(intruder.id, key, "intruder")).rejects.toBeInstanceOf(AccountLinkedToAnotherUserError)
        await expect(
          adapter.syncAccount({ ...key, userId: intruder.id, access_token: "at.intruder" }),
        ).rejects.toBeInstanceOf(AccountLinkedToAnotherUserError)
        const stored = await rows(key)
        expect(stored).toHaveLength(1)
        expect(stored[0]!.userId).toBe(owner.id)
        expect(tagsOf(stored[0]!)).toEqual(TOKEN_FIELDS.map(() => "owner"))
        expect((await adapter.getUserByAccount(key))?.id).toBe(owner.id)
      })

      it("re-points an orphaned account (its user deleted) to the user linking it", async () => {
        const gone = await newUser()
        const heir = await newUser()
        const key = newKey()
        await linkFresh(gone.id, key, "old")
        await fixture.orphanAccountsOf(gone.id)
        await linkFresh(heir.id, key, "new")
        const stored = await rows(key)
        expect(stored).toHaveLength(1)
        expect(stored[0]!.userId).toBe(heir.id)
        expect(tagsOf(stored[0]!)).toEqual(TOKEN_FIELDS.map(() => "new"))
      })
      it("returns null from syncAccount for an account that is not linked and has no userId, writing nothing", async () => {
        const key = newKey()
        expect(await adapter.syncAccount({ ...key, access_token: "at.nobody" })).toBeNull()
        expect(await rows(key)).toHaveLength(0)
      })

      // [label, input, field named in the error]; inputs from "a non-string access_token" on are token errors,
      // which syncAccount must refuse too (userId and type are optional there).
      const badInputs: [string, (key: AccountKey, userId: string) => Record<string, unknown>, string][] = [
        ["a missing userId on link", (key) => ({ ...key, type: "oidc", access_token: "at.bad" }), "userId"],
        ["a missing type on link", (key, userId) => ({ ...key, userId, access_token: "at.bad" }), "type"],
        [
          "a missing providerAccountId",
          (_key, userId) => ({ provider: "kit-oidc", userId, type: "oidc" }),
          "providerAccountId",
        ],
        [
          "an object providerAccountId",
          (_key, userId) => ({ provider: "kit-oidc", providerAccountId: { id: 1 }, userId, type: "oidc" }),
          "providerAccountId",
        ],
        [
          "a provider with a NUL character",
          (key, userId) => ({ ...key, provider: "kit\u0000oidc", userId, type: "oidc" }),
          "provider",
        ],
        [
          "a non-string access_token",
          (key, userId) => ({ ...key, userId, type: "oidc", access_token: 42 }),
          "access_token",
        ],
        [
          "an access_token with a NUL character (PostgreSQL text cannot hold it)",
          (key, userId) => ({ ...key, userId, type: "oidc", access_token: "at\u0000x" }),
          "access_token",
        ],
        [
          "an id_token with a lone surrogate (it would be stored as U+FFFD)",
          (key, userId) => ({ ...key, userId, type: "oidc", id_token: "idt\ud800" }),
          "id_token",
        ],
        [
          "an expires_at that is no time",
          (key, userId) => ({ ...key, userId, type: "oidc", expires_at: "next tuesday" }),
          "expires_at",
        ],
        [
          "an expires_at that is NaN",
          (key, userId) => ({ ...key, userId, type: "oidc", expires_at: Number.NaN }),
          "expires_at",
        ],
        ["a negative expires_in", (key, userId) => ({ ...key, userId, type: "oidc", expires_in: -30 }), "expires_in"],
      ]
      it.each(badInputs)("refuses %s with a typed error and writes nothing", async (_label, build, field) => {
        const user = await newUser()
        const fresh = newKey()
        const secret = `secret-${randomUUID()}`
        const input = { refresh_token: secret, ...build(fresh, user.id) }
        const failure = await adapter.linkAccount(input as unknown as AdapterAccount).catch((error: unknown) => error)
        expect(failure).toBeInstanceOf(InvalidAccountInputError)
        expect((failure as InvalidAccountInputError).field).toBe(field)
        expect(inspect(failure)).not.toContain(secret)
        expect(await rows(fresh)).toHaveLength(0)

        // The same input against an already linked account leaves its row exactly as it was.
        const linkedKey = newKey()
        await linkFresh(user.id, linkedKey, "kept")
        const before = await rows(linkedKey)
        const syncInput = { ...build(linkedKey, user.id), refresh_token: secret }
        const tokenError = !["userId", "type", "provider", "providerAccountId"].includes(field)
        if (tokenError)
          await expect(adapter.syncAccount(syncInput as never)).rejects.toBeInstanceOf(InvalidAccountInputError)
        expect(await rows(linkedKey)).toEqual(before)
      })

      it("keeps token values out of every error it throws", async () => {
        const owner = await newUser()
        const other = await newUser()
        const key = newKey()
        await linkFresh(owner.id, key)
        const secret = `rt-secret-${randomUUID()}`
        const errors = await Promise.all([
          linkFresh(other.id, key).catch((e: unknown) => e),
          adapter.syncAccount({ ...key, refresh_token: secret, expires_at: secret }).catch((e: unknown) => e),
          adapter.syncAccount({ ...key, access_token: { secret } as never }).catch((e: unknown) => e),
        ])
        for (const error of errors) {
          expect(error).toBeInstanceOf(Error)
          const text = `${inspect(error, { depth: 10 })}${JSON.stringify(error)}${String(error)}`
          expect(text).not.toContain(secret)
          expect(text).not.toContain("rt.first")
        }
      })
    })

    describe("(b2) the one-statement sign-in (AccountStore.updateOwnTokens), for a store that offers it", () => {
      if (cell.expectsOneStatementSignIn !== undefined) {
        it(`${cell.expectsOneStatementSignIn ? "offers" : "does not offer"} updateOwnTokens`, () => {
          expect(typeof adapter.accountStore.updateOwnTokens).toBe(
            cell.expectsOneStatementSignIn ? "function" : "undefined",
          )
        })
      }
      it("writes nothing and waits for nothing while the key's lock is held elsewhere; a sign-in meanwhile lands after the holder's write", async () => {
        const store = adapter.accountStore
        if (!store.updateOwnTokens) {
          expect(store.updateOwnTokens).toBeUndefined()
          return
        }
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        const inside = deferred()
        const release = deferred()
        // A refresh's shape: read under the lock, wait (the provider), write.
        const holder = store.withAccountLock(key, async (account) => {
          const [row] = await account.readAll()
          inside.resolve()
          await release.promise
          await account.update(
            { tokens: { access_token: "at.holder", refresh_token: "rt.holder" } },
            { userId: row!.userId },
          )
        })
        await inside.promise
        let signIn: Promise<unknown> | undefined
        try {
          // Released only after this returns: a call that waited for the lock would never return.
          expect(writtenCount(await store.updateOwnTokens(key, user.id, { access_token: "at.direct" }, () => {}))).toBe(
            0,
          )
          signIn = adapter.syncAccount({
            ...key,
            userId: user.id,
            access_token: "at.sign-in",
            refresh_token: "rt.sign-in",
          })
          let settled = false
          signIn.then(
            () => (settled = true),
            () => (settled = true),
          )
          await new Promise((resolve) => setTimeout(resolve, 300))
          // Parked on the lock: a sign-in that wrote at once would be overwritten by the holder's write.
          expect(settled).toBe(false)
        } finally {
          release.resolve()
          await holder
        }
        await signIn
        expect((await rows(key))[0]).toMatchObject({ access_token: "at.sign-in", refresh_token: "rt.sign-in" })
        // With the lock free, the statement writes the caller's row and returns it as written (or, where
        // the database's UPDATE returns no rows, how many it wrote).
        const written = await store.updateOwnTokens(key, user.id, { access_token: "at.direct" }, () => {})
        expect(writtenCount(written)).toBe(1)
        if (Array.isArray(written)) expect(written.map((row) => row.tokens.access_token)).toEqual(["at.direct"])
        expect((await rows(key))[0]).toMatchObject({ access_token: "at.direct", refresh_token: "rt.sign-in" })
      })
      it("writes nothing for a key without a row, or for a row of another user (the locked path decides those)", async () => {
        const store = adapter.accountStore
        if (!store.updateOwnTokens) return
        const user = await newUser()
        const stranger = await newUser()
        const key = newKey()
        expect(writtenCount(await store.updateOwnTokens(key, user.id, { access_token: "at.mine" }, () => {}))).toBe(0)
        expect(await rows(key)).toEqual([])
        await linkFresh(stranger.id, key)
        expect(writtenCount(await store.updateOwnTokens(key, user.id, { access_token: "at.mine" }, () => {}))).toBe(0)
        expect((await rows(key))[0]).toMatchObject({ userId: stranger.id, access_token: "at.first" })
      })
      it("sends nothing when begin() throws (the caller stopped waiting for a connection), and rethrows its error", async () => {
        const store = adapter.accountStore
        if (!store.updateOwnTokens) return
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        const abandoned = new Error("abandoned")
        await expect(
          store.updateOwnTokens(key, user.id, { access_token: "at.late" }, () => {
            throw abandoned
          }),
        ).rejects.toBe(abandoned)
        expect((await rows(key))[0]).toMatchObject({ access_token: "at.first" })
      })
      it("updateOwnTokensIfUnchanged writes only while every compared column holds its value, and never past a held lock", async () => {
        const store = adapter.accountStore
        if (!store.updateOwnTokensIfUnchanged) return
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        const mine = (await store.findAccounts(user.id, key.provider)).find(
          (row) => row.providerAccountId === key.providerAccountId,
        )!
        // The values as the store returned them (encrypted where a codec is set).
        const raw = (field: string) => {
          const value = mine.tokens[field]
          return typeof value === "bigint" ? String(value) : (value as string | number | null)
        }
        const seen = { access_token: raw("access_token"), refresh_token: raw("refresh_token") }
        const write = (unchanged: Record<string, string | number | null>, access_token: string) =>
          store.updateOwnTokensIfUnchanged!(key, user.id, unchanged, { access_token }, () => {})
        // One compared column differs, or holds a value where null was expected: nothing written.
        expect(writtenCount(await write({ ...seen, refresh_token: "rt.other" }, "at.cas"))).toBe(0)
        expect(writtenCount(await write({ ...seen, id_token: null }, "at.cas"))).toBe(0)
        expect((await rows(key))[0]).toMatchObject({ access_token: "at.first", refresh_token: "rt.first" })
        // The key's lock held elsewhere: nothing written, and nothing waited for.
        const inside = deferred()
        const release = deferred()
        const holder = store.withAccountLock(key, async () => {
          inside.resolve()
          await release.promise
        })
        await inside.promise
        try {
          expect(writtenCount(await write(seen, "at.cas"))).toBe(0)
        } finally {
          release.resolve()
          await holder
        }
        // Every compared column as seen: written. Control: drop the comparison from the database's statement
        // (databases/*: unchangedCondition), and the first write above lands.
        expect(writtenCount(await write({ ...seen, expires_at: raw("expires_at") }, "at.cas"))).toBe(1)
        expect((await rows(key))[0]).toMatchObject({ access_token: "at.cas", refresh_token: "rt.first" })
        // The row moved on: the same comparison now writes nothing.
        expect(writtenCount(await write(seen, "at.again"))).toBe(0)
      })
    })

    describe("(b3) leases (AccountStore.leases), for a store that offers them", () => {
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
      const holderId = () => randomUUID().replaceAll("-", "")
      /** The store's leases, or undefined after checking that the store offers none. */
      const leasesOf = () => {
        const leases = adapter.accountStore.leases
        if (!leases) expect(cell.expectsLeases ?? false).toBe(false)
        return leases
      }
      if (cell.expectsLeases !== undefined) {
        it(`${cell.expectsLeases ? "offers" : "does not offer"} leases`, () => {
          expect(adapter.accountStore.leases === undefined).toBe(!cell.expectsLeases)
        })
      }

      const leaseProcesses = Math.max(4, processes)
      const ROUNDS = 8
      const TAKES = 8
      it(`of ${leaseProcesses} processes x ${TAKES} takes of one free key at once, exactly one takes it, in each of ${ROUNDS} rounds`, async () => {
        const leases = leasesOf()
        if (!leases) return
        const keys = Array.from({ length: ROUNDS }, newKey)
        const durationMs = 60_000
        const result = await runLeaseWorkers(
          Array.from({ length: leaseProcesses }, () => ({
            fixtureModule: moduleUrl(),
            databaseUrl: database.url,
            keys,
            takesPerRound: TAKES,
            durationMs,
            startDelayMs: 200,
            roundSpacingMs: 150,
          })),
          cell.workerExecArgv,
          120_000,
        )
        const outcomes = result.flatMap((process) => process.outcomes)
        expect(outcomes).toHaveLength(leaseProcesses * TAKES * ROUNDS)
        // Busy is a value: no take failed.
        expect(outcomes.filter((outcome) => outcome.error !== undefined).map((outcome) => outcome.error)).toEqual([])
        let overlappingRounds = 0
        for (let round = 0; round < ROUNDS; round++) {
          const ofRound = outcomes.filter((outcome) => outcome.round === round)
          const winners = ofRound.filter((outcome) => outcome.taken)
          expect({ round, taken: winners.length }).toEqual({ round, taken: 1 })
          // A fresh key: the first fence.
          expect(winners[0]!.fence).toBe("1")
          for (const loser of ofRound.filter((outcome) => !outcome.taken)) {
            if (loser.remainingMs !== null) {
              expect(loser.remainingMs).toBeGreaterThanOrEqual(0)
              expect(loser.remainingMs).toBeLessThanOrEqual(durationMs)
            }
          }
          const perProcess = result.map((process) => ({
            pid: process.pid,
            outcomes: process.outcomes
              .filter((outcome) => outcome.round === round)
              .map((outcome, index) => ({ ...outcome, index, ok: true })),
          }))
          if (peakOverlap(perProcess).processes >= 2) overlappingRounds++
        }
        // The takes of several processes really ran at the same time, in at least one round.
        expect(overlappingRounds).toBeGreaterThan(0)
      }, 150_000)

      it("updateOwnTokensAndRelease, where offered: writes and ends the lease in one; a failed comparison writes nothing and the lease stays held", async () => {
        const store = adapter.accountStore
        const leases = leasesOf()
        if (!leases || !store.updateOwnTokensAndRelease) return
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        // The compared values as the store returns them (encrypted where a codec is set).
        const seenNow = async () => {
          const mine = (await store.findAccounts(user.id, key.provider)).find(
            (row) => row.providerAccountId === key.providerAccountId,
          )!
          const raw = (field: string) => {
            const value = mine.tokens[field]
            return typeof value === "bigint" ? String(value) : (value as string | number | null)
          }
          return { access_token: raw("access_token"), refresh_token: raw("refresh_token") }
        }
        const seen = await seenNow()
        const taken = await leases.take(key, holderId(), 60_000)
        if (!taken.taken) throw new Error("a fresh key's lease was busy")
        const write = (unchanged: Record<string, string | number | null>, access_token: string) =>
          store.updateOwnTokensAndRelease!(key, user.id, unchanged, { access_token }, taken.lease, () => {})
        // The comparison fails: nothing written, and the lease still held (another holder finds it busy).
        expect(writtenCount(await write({ ...seen, refresh_token: "rt.other" }, "at.cas"))).toBe(0)
        expect((await rows(key))[0]).toMatchObject({ access_token: "at.first" })
        expect((await leases.take(key, holderId(), 60_000)).taken).toBe(false)
        // The comparison holds: written, and the lease ended in the same statement (control: the release left
        // out of the database's statement, and the take below finds it busy for the minute it was taken for).
        expect(writtenCount(await write(seen, "at.cas"))).toBe(1)
        expect((await rows(key))[0]).toMatchObject({ access_token: "at.cas", refresh_token: "rt.first" })
        const next = await leases.take(key, holderId(), 60_000)
        expect(next.taken).toBe(true)
        // A write with the lease that ended frees nothing: the next holder keeps its lease.
        expect(writtenCount(await write(await seenNow(), "at.again"))).toBe(1)
        expect((await leases.take(key, holderId(), 60_000)).taken).toBe(false)
        if (next.taken) await leases.release(key, next.lease)
      })

      it("judges a lease's end by the store's clock: busy while it lasts (remainingMs within what is left), then taken with a larger fence", async () => {
        const leases = leasesOf()
        if (!leases) return
        // A first take opens the connection and prepares, so the timed ones below take milliseconds.
        await leases.take(newKey(), holderId(), 300)
        // The lease begins at the store between the first take's send and its answer. A run where the busy
        // take could not be answered before the earliest end (a stalled machine) proves nothing: run again,
        // with a longer lease (CI once saw three 300 ms runs in a row stalled, dynalite beside other suites).
        const lengths = [300, 1_000, 3_000]
        for (let attempt = 1; ; attempt++) {
          const lengthMs = lengths[attempt - 1]!
          const last = attempt === lengths.length
          const key = newKey()
          const sentFirst = performance.now()
          const first = await leases.take(key, holderId(), lengthMs)
          const answeredFirst = performance.now()
          if (!first.taken) throw new Error("a free key's take was busy")
          // remainingMs is what is left when the take returns, so a take that itself took most of the lease (a
          // stalled machine: CI once saw 0 here) proves nothing about the store: run again.
          if (answeredFirst - sentFirst >= (lengthMs * 2) / 3 && !last) continue
          expect(first.remainingMs).toBeGreaterThan(0)
          expect(first.remainingMs).toBeLessThanOrEqual(lengthMs)
          await sleep(Math.max(0, sentFirst + lengthMs / 3 - performance.now()))
          const sentBusy = performance.now()
          const during = await leases.take(key, holderId(), lengthMs)
          if (performance.now() >= sentFirst + lengthMs && !last) continue
          expect(during.taken).toBe(false)
          // What is left when the busy take is answered is at most the length minus the time from the first
          // take's answer to the busy take's send.
          if (during.remainingMs !== null) {
            expect(during.remainingMs).toBeGreaterThanOrEqual(0)
            expect(during.remainingMs).toBeLessThanOrEqual(Math.ceil(lengthMs - (sentBusy - answeredFirst)))
          }
          // Half a length after the latest the lease can end.
          await sleep(Math.max(0, answeredFirst + lengthMs * 1.5 - performance.now()))
          const after = await leases.take(key, holderId(), lengthMs)
          if (!after.taken) throw new Error(`the take after the lease ended was busy (${after.remainingMs} ms left)`)
          expect(BigInt(after.lease.fence)).toBeGreaterThan(BigInt(first.lease.fence))
          return
        }
      }, 30_000)

      it("a take, taken or busy, brings every row of the key and the store's clock, read after it: a write committed before the release shows", async () => {
        const leases = leasesOf()
        if (!leases) return
        const user = await newUser()
        const key = newKey()
        await linkFresh(user.id, key)
        const a = await leases.take(key, holderId(), 5000)
        if (!a.taken) throw new Error("a free key's take was busy")
        expect(a.rows.map((row) => ({ userId: row.userId, access_token: row.tokens.access_token }))).toEqual([
          { userId: String(user.id), access_token: "at.first" },
        ])
        // The store's clock in epoch ms (the test runs beside the database: the same host clock, within minutes).
        expect(Math.abs(a.nowMs - Date.now())).toBeLessThan(5 * 60_000)
        // The holder writes (a short locked transaction) and then releases, as lease mode does.
        await adapter.accountStore.withAccountLock(key, (locked) =>
          locked.update(
            { tokens: { access_token: "at.written", refresh_token: "rt.written" } },
            { userId: String(user.id) },
          ),
        )
        const busy = await leases.take(key, holderId(), 5000)
        expect(busy.taken).toBe(false)
        expect(busy.rows.map((row) => row.tokens.access_token)).toEqual(["at.written"])
        await leases.release(key, a.lease)
        const b = await leases.take(key, holderId(), 5000)
        if (!b.taken) throw new Error("the take after a release was busy")
        expect(b.rows.map((row) => [row.tokens.access_token, row.tokens.refresh_token])).toEqual([
          ["at.written", "rt.written"],
        ])
        expect(b.nowMs).toBeGreaterThanOrEqual(a.nowMs)
        await leases.release(key, b.lease)
        // A key without rows: none, and still the clock.
        const empty = await leases.take(newKey(), holderId(), 200)
        expect(empty.rows).toEqual([])
        expect(Number.isFinite(empty.nowMs)).toBe(true)
      })

      it("renews and releases only with the current fence and holder: an old fence or another holder changes nothing", async () => {
        const leases = leasesOf()
        if (!leases) return
        const key = newKey()
        const a = await leases.take(key, holderId(), 5000)
        if (!a.taken) throw new Error("a free key's take was busy")
        const stranger = { fence: a.lease.fence, holder: holderId() }
        expect(await leases.renew(key, stranger, 5000)).toBeNull()
        await leases.release(key, stranger)
        expect((await leases.take(key, holderId(), 5000)).taken).toBe(false)

        await leases.release(key, a.lease)
        const b = await leases.take(key, holderId(), 5000)
        if (!b.taken) throw new Error("the take after a release was busy")
        expect(BigInt(b.lease.fence)).toBeGreaterThan(BigInt(a.lease.fence))
        // The old holder, with its old fence: nothing.
        expect(await leases.renew(key, a.lease, 60_000)).toBeNull()
        await leases.release(key, a.lease)
        // Another holder with the current fence: nothing either.
        await leases.release(key, { fence: b.lease.fence, holder: holderId() })
        const stillBusy = await leases.take(key, holderId(), 5000)
        expect(stillBusy.taken).toBe(false)
        // The live lease kept its own end: the old holder's renew to 60 s did not extend it.
        if (stillBusy.remainingMs !== null) expect(stillBusy.remainingMs).toBeLessThanOrEqual(5000)

        const renewed = await leases.renew(key, b.lease, 8000)
        expect(renewed).not.toBeNull()
        expect(renewed!.remainingMs).toBeGreaterThan(5000)
        expect(renewed!.remainingMs).toBeLessThanOrEqual(8000)
        await leases.release(key, b.lease)
        const c = await leases.take(key, holderId(), 200)
        if (!c.taken) throw new Error("the take after the holder's release was busy")
        expect(BigInt(c.lease.fence)).toBeGreaterThan(BigInt(b.lease.fence))
        // A lease that has ended is not renewed, even by its holder.
        await sleep(350)
        expect(await leases.renew(key, c.lease, 5000)).toBeNull()
      })

      const callersClock = cell.leaseClock === "callers"
      /** A lease's end judged by the callers' clocks: the kit checks the bound on their skew the store documents. */
      async function callersClockBound(key: AccountKey, leases: AccountLeases, lease: HeldLease): Promise<void> {
        const shiftedBy = async (clockShiftMs: number) => {
          const [worker] = await runLeaseWorkers(
            [
              {
                fixtureModule: moduleUrl(),
                databaseUrl: database.url,
                keys: [key],
                takesPerRound: 1,
                durationMs: 30_000,
                startDelayMs: 0,
                roundSpacingMs: 0,
                clockShiftMs,
              },
            ],
            cell.workerExecArgv,
          )
          return worker!.outcomes.map((outcome) => ({ taken: outcome.taken, error: outcome.error }))
        }
        expect(await shiftedBy(1_000)).toEqual([{ taken: false, error: undefined }])
        expect(await shiftedBy(10 * 60_000)).toEqual([{ taken: true, error: undefined }])
        await leases.release(key, lease)
      }
      const clockTest = callersClock
        ? "the callers' clocks decide (no store clock): 1 s ahead cannot take a live lease, 10 minutes ahead can"
        : "a process whose clock is 10 minutes ahead still cannot take a live lease (the store's clock decides)"
      it(`${clockTest}`, async () => {
        const leases = leasesOf()
        if (!leases) return
        const key = newKey()
        const held = await leases.take(key, holderId(), 30_000)
        if (!held.taken) throw new Error("a free key's take was busy")
        if (callersClock) return callersClockBound(key, leases, held.lease)
        const [shifted] = await runLeaseWorkers(
          [
            {
              fixtureModule: moduleUrl(),
              databaseUrl: database.url,
              keys: [key],
              takesPerRound: 5,
              durationMs: 30_000,
              startDelayMs: 0,
              roundSpacingMs: 0,
              clockShiftMs: 10 * 60_000,
            },
          ],
          cell.workerExecArgv,
        )
        expect(shifted!.outcomes.map((outcome) => ({ taken: outcome.taken, error: outcome.error }))).toEqual(
          Array.from({ length: 5 }, () => ({ taken: false, error: undefined })),
        )
        for (const outcome of shifted!.outcomes) {
          if (outcome.remainingMs !== null) {
            expect(outcome.remainingMs).toBeGreaterThan(0)
            expect(outcome.remainingMs).toBeLessThanOrEqual(30_000)
          }
        }
        await leases.release(key, held.lease)
      }, 60_000)
    })

    describe("(b4) the re-authentication listing (AccountStore.listReauthMarks), for a store that offers it", () => {
      /** The adapter with the fixture's mark column, over the same store; undefined when the section does not apply. */
      const listing = (): { reauth: TokenSyncAdapter<Adapter>; column: string } | undefined => {
        const column = fixture.reauthColumn
        const offered = column !== undefined && adapter.accountStore.listReauthMarks !== undefined
        if (!offered) {
          expect(cell.expectsReauthListing ?? false).toBe(false)
          return undefined
        }
        // A store whose lock is a lease runs in lease mode only (section b5).
        const leaseLocked = adapter.accountStore.coordination === "lease"
        const reauth = withTokenSync(fixture.adapter, adapter.accountStore, {
          refresh: { providers: [], reauthColumn: column, ...(leaseLocked ? { coordination: "lease" as const } : {}) },
        })
        return { reauth, column }
      }
      if (cell.expectsReauthListing !== undefined) {
        it(`${cell.expectsReauthListing ? "runs" : "does not run"} (listReauthMarks and the fixture's reauthColumn)`, () => {
          const runs = fixture.reauthColumn !== undefined && adapter.accountStore.listReauthMarks !== undefined
          expect(runs).toBe(cell.expectsReauthListing)
        })
      }
      /** Writes `mark` into the key's mark column, under the store's lock, as the refresh engine does. */
      const setMark = (column: string, key: AccountKey, userId: string, mark: string | null) =>
        adapter.accountStore.withAccountLock(key, async (account) => {
          await account.update({ tokens: { [column]: mark } }, { userId: String(userId) })
        })
      /** A provider name of its own, so each test lists only its own accounts. */
      const newProvider = () => `kit-reauth-${randomUUID().slice(0, 8)}`
      /** Every page of one provider's listing, followed through `next`. */
      const allPages = async (reauth: TokenSyncAdapter<Adapter>, provider: string | undefined, limit: number) => {
        const pages: Awaited<ReturnType<TokenSyncAdapter["accountsNeedingReauth"]>>[] = []
        let after: AccountKey | null = null
        do {
          const page = await reauth.accountsNeedingReauth({ ...(provider ? { provider } : {}), limit, after })
          pages.push(page)
          after = page.next
        } while (after && pages.length < 50)
        return pages
      }

      it("lists a provider's marked accounts in key order, a page at a time, each once; unmarked (null, empty) never", async () => {
        const setup = listing()
        if (!setup) return
        const { reauth, column } = setup
        const provider = newProvider()
        const expected: { userId: string; provider: string; providerAccountId: string; reason: string }[] = []
        // Marked: 0, 2, 4 (invalid_scope), 5, 6. Between them, 1 never marked and 3 marked with an empty value
        // (not a mark): a listing that counted them toward a page would end early or list them.
        const marks: (string | null)[] = [
          "invalid_grant",
          null,
          "invalid_grant",
          "",
          "invalid_scope",
          "invalid_grant",
          "invalid_grant",
        ]
        for (const [i, value] of marks.entries()) {
          const user = await newUser()
          const key = { provider, providerAccountId: `sub-${i}` }
          await linkFresh(user.id, key, `reauth-${i}`)
          if (value !== null) await setMark(column, key, user.id, value)
          if (value) expected.push({ userId: String(user.id), ...key, reason: value })
        }
        // Another provider's mark: not in this provider's listing.
        const other = { provider: newProvider(), providerAccountId: "sub-0" }
        const otherUser = await newUser()
        await linkFresh(otherUser.id, other)
        await setMark(column, other, otherUser.id, "invalid_grant")

        const pages = await allPages(reauth, provider, 2)
        expect(pages.map((page) => page.accounts.length)).toEqual([2, 2, 1])
        expect(pages.at(-1)!.next).toBeNull()
        expect(pages.flatMap((page) => page.accounts)).toEqual(expected)
        // One page holding them all: next is null at once (fewer than limit keys).
        expect(await reauth.accountsNeedingReauth({ provider, limit: 10 })).toEqual({ accounts: expected, next: null })
        // Control: without the provider filter the other provider's mark is listed too.
        const everything = (await allPages(reauth, undefined, 1000)).flatMap((page) => page.accounts)
        expect(everything.map((a) => a.provider)).toEqual(expect.arrayContaining([provider, other.provider]))
      }, 60_000)

      it("keyset paging: marks set and cleared between pages neither repeat nor skip other accounts", async () => {
        const setup = listing()
        if (!setup) return
        const { reauth, column } = setup
        const provider = newProvider()
        const users: Record<string, string> = {}
        const link = async (sub: string, marked: boolean) => {
          const user = await newUser()
          users[sub] = String(user.id)
          await linkFresh(user.id, { provider, providerAccountId: sub }, sub)
          if (marked) await setMark(column, { provider, providerAccountId: sub }, user.id, "invalid_grant")
        }
        for (const sub of ["b", "d", "f", "h", "j", "l"]) await link(sub, true)
        await link("a", false)
        await link("k", false)
        const first = await reauth.accountsNeedingReauth({ provider, limit: 2 })
        expect(first.accounts.map((a) => a.providerAccountId)).toEqual(["b", "d"])
        // Meanwhile: "b" (already listed) and "h" (not yet) are cleared by a sign-in with a new refresh token,
        // "a" (before the cursor) and "k" (after it) get marked.
        for (const sub of ["b", "h"])
          await reauth.syncAccount({
            provider,
            providerAccountId: sub,
            userId: users[sub]!,
            refresh_token: `rt.new-${sub}`,
          })
        await setMark(column, { provider, providerAccountId: "a" }, users.a!, "invalid_grant")
        await setMark(column, { provider, providerAccountId: "k" }, users.k!, "invalid_grant")
        const rest: string[] = []
        let after = first.next
        while (after) {
          const page = await reauth.accountsNeedingReauth({ provider, limit: 2, after })
          rest.push(...page.accounts.map((a) => a.providerAccountId))
          after = page.next
        }
        expect(rest).toEqual(["f", "j", "k", "l"])
        // The fresh listing: the cleared ones are gone, the new ones there.
        const now = (await reauth.accountsNeedingReauth({ provider, limit: 100 })).accounts
        expect(now.map((a) => a.providerAccountId)).toEqual(["a", "d", "f", "j", "k", "l"])
      }, 60_000)

      it("a sign-in bringing a new refresh token clears the mark (no longer listed); one without a refresh token keeps it", async () => {
        const setup = listing()
        if (!setup) return
        const { reauth, column } = setup
        const provider = newProvider()
        const user = await newUser()
        const key = { provider, providerAccountId: "sub-signin" }
        await linkFresh(user.id, key)
        expect((await reauth.accountsNeedingReauth({ provider })).accounts).toEqual([])
        await setMark(column, key, user.id, "invalid_grant")
        expect((await reauth.accountsNeedingReauth({ provider })).accounts).toHaveLength(1)
        // Google's returning sign-ins bring no refresh token: the dead one is still there, so is the mark.
        await reauth.syncAccount({ ...key, userId: user.id, access_token: "at.no-refresh" })
        expect((await reauth.accountsNeedingReauth({ provider })).accounts).toHaveLength(1)
        await reauth.syncAccount({ ...key, userId: user.id, access_token: "at.new", refresh_token: "rt.new" })
        expect((await reauth.accountsNeedingReauth({ provider })).accounts).toEqual([])
        expect((await rows(key))[0]?.[column] ?? null).toBeNull()
      }, 60_000)

      it("the store reads the key, the owner and the mark only, never a token column", async () => {
        const setup = listing()
        if (!setup) return
        const { column } = setup
        const provider = newProvider()
        const user = await newUser()
        const key = { provider, providerAccountId: "sub-tokens" }
        await linkFresh(user.id, key, "secret-tag")
        await setMark(column, key, user.id, "invalid_grant")
        const marks = await adapter.accountStore.listReauthMarks!({ column, provider, limit: 10 })
        expect(marks).toEqual([{ userId: String(user.id), ...key, reason: "invalid_grant" }])
        expect(Object.keys(marks[0]!).sort()).toEqual(["provider", "providerAccountId", "reason", "userId"])
        expect(JSON.stringify(marks)).not.toContain("secret-tag")
        // A page after the last key is empty; a limit of 1 gives one key.
        expect(await adapter.accountStore.listReauthMarks!({ column, provider, limit: 1, after: key })).toEqual([])
      }, 60_000)
    })

    describe("(b6) the account scan (AccountStore.scanAccounts), for a store that offers it", () => {
      const scan = () => adapter.accountStore.scanAccounts?.bind(adapter.accountStore)
      if (cell.expectsAccountScan !== undefined) {
        it(`${cell.expectsAccountScan ? "is" : "is not"} offered`, () => {
          expect(scan() !== undefined).toBe(cell.expectsAccountScan)
        })
      }
      /** Every page after `after` (limit `limit`), each page's keys, until an empty page; at most 50 pages. */
      const allPages = async (limit: number, after?: AccountKey) => {
        const pages: StoredAccountRow[][] = []
        for (let bound = after; pages.length < 50;) {
          const page = await scan()!({ limit, ...(bound ? { after: bound } : {}) })
          if (page.length === 0) break
          pages.push(page)
          const last = page.at(-1)!
          bound = { provider: last.provider, providerAccountId: last.providerAccountId }
        }
        return pages
      }
      const keyText = (row: AccountKey) => `${row.provider} ${row.providerAccountId}`

      it("pages by key in (provider, providerAccountId) order: each key once, in one page, with its owner and tokens", async () => {
        if (!scan()) return
        // A provider of its own that sorts before every other test's ("kit-oidc", "kit-reauth-..."), so the
        // pages from the first key hold this test's keys first; more tests may add keys after them meanwhile.
        const provider = `kit-a-scan-${randomUUID().slice(0, 8)}`
        const subs = ["s3", "s1", "s5", "s2", "s4"]
        const users = new Map<string, string>()
        for (const sub of subs) {
          const user = await newUser()
          users.set(sub, String(user.id))
          await linkFresh(user.id, { provider, providerAccountId: sub }, `scan-${sub}`)
        }
        const before = { provider, providerAccountId: "" }
        const pages = (await allPages(2, before)).map((page) => page.filter((row) => row.provider === provider))
        const mine = pages.filter((page) => page.length > 0)
        expect(mine.map((page) => page.map((row) => row.providerAccountId))).toEqual([
          ["s1", "s2"],
          ["s3", "s4"],
          ["s5"],
        ])
        for (const row of mine.flat()) {
          expect(row.userId).toBe(users.get(row.providerAccountId))
          expect(row.tokens.access_token).toBe(`at.scan-${row.providerAccountId}`)
        }
        // A bound inside the provider: only the keys after it.
        const after = await scan()!({ limit: 10, after: { provider, providerAccountId: "s3" } })
        expect(after.filter((row) => row.provider === provider).map((row) => row.providerAccountId)).toEqual([
          "s4",
          "s5",
        ])
      }, 60_000)

      it("the whole scan from the first key gives each key in one run, never again later", async () => {
        if (!scan()) return
        const provider = `kit-b-scan-${randomUUID().slice(0, 8)}`
        const user = await newUser()
        for (const sub of ["x", "y"]) await linkFresh(user.id, { provider, providerAccountId: sub })
        // A key's rows side by side (a schema without a unique key may hold several owners of one key).
        const keys = (await allPages(100))
          .flat()
          .map(keyText)
          .filter((text, i, all) => text !== all[i - 1])
        // Each key in one run, never again later; this test's in their order. The order of other keys is the
        // database's collation (a case-insensitive MariaDB one, a PostgreSQL locale), not checked.
        expect(new Set(keys).size).toBe(keys.length)
        expect(keys.filter((text) => text.startsWith(`${provider} `))).toEqual([`${provider} x`, `${provider} y`])
      }, 60_000)
    })

    describe('(b5) a lock that is a lease (AccountStore.coordination "lease"), for a store without transactions', () => {
      const leaseLocked = (): boolean => adapter.accountStore.coordination === "lease"
      it("is refused by withTokenSync in lock mode (a provider request would run inside the lease)", () => {
        if (!leaseLocked()) return
        const provider = { id: "kit", type: "oidc" as const, issuer: "https://kit.example.test", clientId: "c" }
        for (const coordination of [undefined, "lock"] as const) {
          expect(() =>
            withTokenSync(fixture.adapter, fixture.db, {
              refresh: { providers: [{ ...provider, clientSecret: "s" }], ...(coordination ? { coordination } : {}) },
            }),
          ).toThrow(InvalidOptionsError)
        }
      })
      const increments = processes * callersPerProcess
      it(`${increments} read-then-write increments of one account under withAccountLock from ${processes} processes: none lost`, async () => {
        if (!leaseLocked()) return
        const user = await newUser()
        const key = newKey()
        await adapter.linkAccount({ ...key, userId: user.id, type: "oidc", access_token: "n.0" } as AdapterAccount)
        const result = await runInWorkerProcesses(
          {
            fixtureModule: moduleUrl(),
            databaseUrl: database.url,
            mode: "wrapped",
            workerExecArgv: cell.workerExecArgv,
          },
          Array.from({ length: processes }, () =>
            Array.from({ length: callersPerProcess }, (): WorkerOperation => ({ kind: "increment", account: key })),
          ),
          120_000,
        )
        expect(result.flatMap((process) => process.outcomes).filter((outcome) => !outcome.ok)).toEqual([])
        expect((await rows(key)).map((row) => row.access_token)).toEqual([`n.${increments}`])
        expect(peakOverlap(result).processes).toBeGreaterThanOrEqual(2)
      }, 150_000)
    })

    describe("(c) concurrency across OS processes", () => {
      const total = processes * callersPerProcess
      const STORM_ATTEMPTS = 3

      function storm(userId: string, key: AccountKey): WorkerOperation[][] {
        const base = nowSeconds() + 3600
        return Array.from({ length: processes }, (_, p) =>
          Array.from({ length: callersPerProcess }, (_, i): WorkerOperation => {
            const tag = `p${p}-c${i}`
            const account = { ...key, userId, type: "oidc", ...taggedTokens(tag, base + p * callersPerProcess + i) }
            return { kind: i % 2 === 0 ? "link" : "sync", account }
          }),
        )
      }
      it(`${total} concurrent links and syncs of one new account from ${processes} processes leave one row holding one input entire`, async () => {
        // Every run must end correct. On a loaded machine one process can be scheduled so late that the
        // runs barely overlap; such a run proves nothing about concurrency, so the storm runs again on a
        // new account, at most STORM_ATTEMPTS times, until one overlaps as required.
        let overlap = { operations: 0, processes: 0 }
        for (let attempt = 1; attempt <= STORM_ATTEMPTS; attempt++) {
          const user = await newUser()
          const key = newKey()
          const operations = storm(user.id, key)
          const result = await runInWorkerProcesses(
            {
              fixtureModule: moduleUrl(),
              databaseUrl: database.url,
              mode: "wrapped",
              workerExecArgv: cell.workerExecArgv,
            },
            operations,
          )

          const outcomes = result.flatMap((r) => r.outcomes)
          expect(outcomes).toHaveLength(total)
          expect(outcomes.filter((o) => !o.ok)).toEqual([])

          const stored = await rows(key)
          expect(stored).toHaveLength(1)
          const tags = tagsOf(stored[0]!)
          expect(new Set(tags).size).toBe(1)
          const winner = operations.flat().find((o) => (o.account.access_token as string) === `at.${tags[0]}`)
          expect(winner).toBeDefined()
          expect(Number(stored[0]!.expires_at)).toBe(winner!.account.expires_at)
          expect(stored[0]!.userId).toBe(user.id)

          overlap = peakOverlap(result)
          if (overlap.processes >= 2 && overlap.operations > callersPerProcess) break
        }
        // The operations really ran at the same time, in more than one process, in at least one run.
        expect(overlap.processes).toBeGreaterThanOrEqual(2)
        expect(overlap.operations).toBeGreaterThan(callersPerProcess)
      }, 120_000)

      const bareName = cell.bareLinksLeaveOneRow
        ? "the same storm through the bare adapter's linkAccount also ends in one row (its layout replaces one item)"
        : "control: the same storm through the bare adapter's linkAccount does not end in one clean row"
      it(`${bareName}`, async () => {
        const user = await newUser()
        const key = newKey()
        const result = await runInWorkerProcesses(
          {
            fixtureModule: moduleUrl(),
            databaseUrl: database.url,
            mode: "bare",
            workerExecArgv: cell.workerExecArgv,
          },
          storm(user.id, key),
        )
        const failures = result.flatMap((r) => r.outcomes).filter((o) => !o.ok).length
        const stored = await rows(key)
        // A layout that replaces one item per owner and account whole leaves one row without the wrapper too.
        if (cell.bareLinksLeaveOneRow) expect({ rows: stored.length, failures }).toEqual({ rows: 1, failures: 0 })
        // Without the wrapper: duplicate rows (schemas without a unique key) or failed sign-ins (with one).
        else expect({ rows: stored.length, failures }).not.toEqual({ rows: 1, failures: 0 })
      }, 120_000)
    })
  })
}
