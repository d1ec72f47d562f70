import { describe, expect, it } from "@jest/globals"
import { UnsupportedDatabaseError } from "../src/errors.js"
import { withTokenSync } from "../src/with-token-sync.js"
import type { Adapter } from "@auth/core/adapters"
import type { AuthConfig } from "@auth/core"
import type { AccountStore } from "../src/store.js"

// Detection of the real clients (PrismaClient, Kysely, pg.Pool) is checked against the real objects in
// the conformance kit and the store tests; this file covers what must be refused, which needs no database.
describe("withTokenSync(adapter, db): db detection", () => {
  const adapter = { getUser: async () => null }

  it.each([
    ["null", null],
    ["undefined", undefined],
    ["a connection string", "postgres://localhost/app"],
    ["an empty object", {}],
    ["a Drizzle-like object", { select: () => undefined, insert: () => undefined }],
  ])("refuses %s with an error that lists what is accepted", (_label, db) => {
    let thrown: unknown
    try {
      withTokenSync(adapter, db as object)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(UnsupportedDatabaseError)
    expect((thrown as Error).message).toMatch(/PrismaClient.*Kysely.*node-postgres Pool.*AccountStore/)
  })

  it("refuses a single node-postgres Client and says to pass a Pool", () => {
    // The shape of a pg.Client (real ones are checked in the tests package's store tests).
    const client = { query: async () => ({ rows: [] }), connect: async () => undefined, connectionParameters: {} }
    expect(() => withTokenSync(adapter, client)).toThrow(/pass a Pool/)
  })

  it.each([
    ["an ioredis client", { evalsha: () => 0, defineCommand: () => 0, scanStream: () => 0, get: () => 0 }],
    ["an unstorage storage", { getMount: () => 0, setItemRaw: () => 0, getItem: () => 0 }],
  ])("refuses %s and names redisAccountStore (its key layout cannot be read from it)", (_label, db) => {
    expect(() => withTokenSync(adapter, db)).toThrow(UnsupportedDatabaseError)
    expect(() => withTokenSync(adapter, db)).toThrow(/redisAccountStore\(client, \{ base \}\)/)
  })

  it("uses an object implementing AccountStore as it is", () => {
    const store: AccountStore = {
      name: "custom",
      withAccountLock: async () => {
        throw new Error("not called here")
      },
      findAccounts: async () => [],
    }
    expect(withTokenSync(adapter, store).accountStore).toBe(store)
  })

  it("passes the wrapped adapter's other methods through as the same functions, as own enumerable properties", () => {
    const store: AccountStore = {
      name: "custom",
      withAccountLock: async () => undefined as never,
      findAccounts: async () => [],
    }
    const wrapped = withTokenSync(adapter, store)
    expect(wrapped.getUser).toBe(adapter.getUser)
    expect(Object.keys(wrapped)).toEqual(
      expect.arrayContaining(["getUser", "linkAccount", "getUserByAccount", "syncAccount", "events"]),
    )
  })
})

describe("types: the wrapper drops into an Auth.js config as the README shows", () => {
  it("is accepted as AuthConfig's adapter and events (checked by tsc; the run checks the values)", () => {
    const store: AccountStore = {
      name: "custom",
      withAccountLock: async () => undefined as never,
      findAccounts: async () => [],
    }
    const wrapped = withTokenSync({ getUser: async () => null } satisfies Adapter, store)
    const config: AuthConfig = { adapter: wrapped, events: wrapped.events, providers: [] }
    expect(config.adapter).toBe(wrapped)
    expect(typeof config.events?.signIn).toBe("function")
  })
})
