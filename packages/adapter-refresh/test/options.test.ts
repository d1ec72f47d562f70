import { describe, expect, it } from "@jest/globals"
import { InvalidOptionsError } from "../src/errors.js"
import { checkTokenSyncOptions } from "../src/options.js"
import { withTokenSync } from "../src/with-token-sync.js"
import { pgAccountStore, type PgPoolLike } from "../src/stores/pg.js"

const codec = (fields: unknown) => ({ fields, encode: (v: string) => v, decode: (v: string) => v })
const refresh = (extra: Record<string, unknown>) => ({ providers: [], ...extra })

/** [label, options, the option the error must name] */
const refused: [string, unknown, string][] = [
  ["options that are not an object", "tokenFields", "(options)"],
  ["tokenFields that is not an array", { tokenFields: "scope" }, "tokenFields"],
  ...["provider", "providerAccountId", "userId", "type", "id"].map((key): [string, unknown, string] => [
    `tokenFields naming the key column ${key}`,
    { tokenFields: [key] },
    "tokenFields",
  ]),
  ["tokenFields naming a standard token column", { tokenFields: ["refresh_token"] }, "tokenFields"],
  ["tokenFields naming a column twice", { tokenFields: ["a_col", "a_col"] }, "tokenFields"],
  ["tokenFields with a non-identifier", { tokenFields: ['x"; DROP TABLE users; --'] }, "tokenFields"],
  ["tokenFields with a non-string", { tokenFields: [42] }, "tokenFields"],
  [
    "refresh.reauthColumn naming a key column",
    { refresh: refresh({ reauthColumn: "userId" }) },
    "refresh.reauthColumn",
  ],
  [
    "refresh.reauthColumn naming a standard token column",
    { refresh: refresh({ reauthColumn: "access_token" }) },
    "refresh.reauthColumn",
  ],
  [
    "refresh.reauthColumn naming one of tokenFields",
    { tokenFields: ["needs_reauth"], refresh: refresh({ reauthColumn: "needs_reauth" }) },
    "refresh.reauthColumn",
  ],
  [
    "refresh.reauthColumn that is no identifier",
    { refresh: refresh({ reauthColumn: "needs reauth" }) },
    "refresh.reauthColumn",
  ],
  [
    "refresh.refreshTokenExpiryColumn naming a standard token column",
    { refresh: refresh({ refreshTokenExpiryColumn: "expires_at" }) },
    "refresh.refreshTokenExpiryColumn",
  ],
  [
    "refresh.refreshTokenExpiryColumn naming one of tokenFields",
    { tokenFields: ["rt_exp"], refresh: refresh({ refreshTokenExpiryColumn: "rt_exp" }) },
    "refresh.refreshTokenExpiryColumn",
  ],
  [
    "refresh.refreshTokenExpiryColumn naming the reauth column",
    { refresh: refresh({ reauthColumn: "rt_exp", refreshTokenExpiryColumn: "rt_exp" }) },
    "refresh.refreshTokenExpiryColumn",
  ],
  [
    "refresh.refreshTokenExpiryColumn that is no identifier",
    { refresh: refresh({ refreshTokenExpiryColumn: 7 }) },
    "refresh.refreshTokenExpiryColumn",
  ],
  [
    "codec.fields naming the refresh-token expiry column",
    { codec: codec(["rt_exp"]), refresh: refresh({ refreshTokenExpiryColumn: "rt_exp" }) },
    "codec.fields",
  ],
  ["refresh without providers", { refresh: {} }, "refresh.providers"],
  ["a negative refresh.lockTimeoutMs", { refresh: refresh({ lockTimeoutMs: -1 }) }, "refresh.lockTimeoutMs"],
  [
    "a fractional refresh.requestTimeoutMs",
    { refresh: refresh({ requestTimeoutMs: 1.5 }) },
    "refresh.requestTimeoutMs",
  ],
  ["a string refresh.skewSeconds", { refresh: refresh({ skewSeconds: "60" }) }, "refresh.skewSeconds"],
  ["NaN refresh.retries", { refresh: refresh({ retries: Number.NaN }) }, "refresh.retries"],
  ["Infinity refresh.backoffMs", { refresh: refresh({ backoffMs: Number.POSITIVE_INFINITY }) }, "refresh.backoffMs"],
  ["a codec without encode/decode", { codec: { fields: ["access_token"] } }, "codec"],
  ["codec.fields naming a non-token column", { codec: codec(["userId"]) }, "codec.fields"],
  ["codec.fields naming a column that is not configured", { codec: codec(["private_notes"]) }, "codec.fields"],
  ["codec.fields naming expires_at", { codec: codec(["expires_at"]) }, "codec.fields"],
  [
    "codec.fields naming the reauth column",
    { tokenFields: [], codec: codec(["needs_reauth"]), refresh: refresh({ reauthColumn: "needs_reauth" }) },
    "codec.fields",
  ],
  ["codec.fields that is not an array", { codec: codec("access_token") }, "codec.fields"],
  ["now that is not a function", { now: 1_700_000_000_000 }, "now"],
  ["an unknown refresh.coordination", { refresh: refresh({ coordination: "leases" }) }, "refresh.coordination"],
  ["a negative refresh.leaseMarginMs", { refresh: refresh({ leaseMarginMs: -1 }) }, "refresh.leaseMarginMs"],
  ["a fractional refresh.leaseMarginMs", { refresh: refresh({ leaseMarginMs: 0.5 }) }, "refresh.leaseMarginMs"],
  ["a negative refresh.lateAnswerMs", { refresh: refresh({ lateAnswerMs: -1 }) }, "refresh.lateAnswerMs"],
  ["a string refresh.lateAnswerMs", { refresh: refresh({ lateAnswerMs: "20s" as never }) }, "refresh.lateAnswerMs"],
  [
    "a fractional refresh.maxConcurrentStatements",
    { refresh: refresh({ maxConcurrentStatements: 1.5 }) },
    "refresh.maxConcurrentStatements",
  ],
  [
    "a refresh.providerConcurrency that is not an object",
    { refresh: refresh({ providerConcurrency: 4 }) },
    "refresh.providerConcurrency",
  ],
  [
    "a zero limit in refresh.providerConcurrency",
    { refresh: refresh({ providerConcurrency: { google: 0 } }) },
    "refresh.providerConcurrency",
  ],
  [
    "a fractional limit in refresh.providerConcurrency",
    { refresh: refresh({ providerConcurrency: { google: 1.5 } }) },
    "refresh.providerConcurrency",
  ],
]

describe("checkTokenSyncOptions", () => {
  it.each(refused)("refuses %s with an InvalidOptionsError naming the option", (_label, options, option) => {
    let failure: unknown
    try {
      checkTokenSyncOptions(options)
    } catch (error) {
      failure = error
    }
    expect(failure).toBeInstanceOf(InvalidOptionsError)
    expect((failure as InvalidOptionsError).option).toBe(option)
    expect((failure as InvalidOptionsError).code).toBe("INVALID_OPTIONS")
    expect((failure as Error).message).toContain(option)
  })

  it("accepts options that work", () => {
    for (const options of [
      undefined,
      {},
      { tokenFields: ["refresh_token_expires_in", "ext_expires_in"] },
      { tokenFields: ["private_token"], codec: codec(["access_token", "refresh_token", "id_token", "private_token"]) },
      { refresh: refresh({ reauthColumn: "needs_reauth", lockTimeoutMs: 0, requestTimeoutMs: 5000, retries: 0 }) },
      { now: () => 0 },
      { refresh: refresh({ coordination: "lease", leaseMarginMs: 0, providerConcurrency: { google: 2 } }) },
      { refresh: refresh({ coordination: "lock" }) },
      { refresh: refresh({ reauthColumn: "refresh_error", refreshTokenExpiryColumn: "refresh_token_expires_at" }) },
    ]) {
      expect(() => checkTokenSyncOptions(options)).not.toThrow()
    }
  })

  it("withTokenSync refuses them at construction, before looking at db", () => {
    expect(() => withTokenSync({}, {}, { tokenFields: ["userId"] })).toThrow(InvalidOptionsError)
    expect(() => withTokenSync({}, {}, { refresh: { providers: [], reauthColumn: "scope" } })).toThrow(
      InvalidOptionsError,
    )
  })

  it('coordination "lease" with a store lacking leases is refused at construction, naming the capability', () => {
    // A custom store with only the lock-mode minimum (no `leases`).
    const store = {
      name: "custom",
      withAccountLock: () => Promise.reject(new Error("not called")),
      findAccounts: () => Promise.resolve([]),
    }
    let failure: unknown
    try {
      withTokenSync({}, store, { refresh: { providers: [], coordination: "lease" } })
    } catch (error) {
      failure = error
    }
    expect(failure).toBeInstanceOf(InvalidOptionsError)
    expect((failure as InvalidOptionsError).option).toBe("refresh.coordination")
    expect((failure as Error).message).toContain("AccountStore.leases")
    // The same store in lock mode is fine.
    expect(() => withTokenSync({}, store, { refresh: { providers: [], coordination: "lock" } })).not.toThrow()
  })
})

describe("store options", () => {
  const pool = { connect: async () => ({}), query: async () => ({}), totalCount: 0 } as unknown as PgPoolLike
  it("a bad table name or timeout is an InvalidOptionsError naming the option", () => {
    expect(() => pgAccountStore(pool, { accountsTable: "a b" })).toThrow(InvalidOptionsError)
    expect(() => pgAccountStore(pool, { lockTimeoutMs: -5 })).toThrow(
      expect.objectContaining({ option: "lockTimeoutMs" }),
    )
    expect(() => pgAccountStore(pool, { lockTimeoutMs: 2.5 })).toThrow(InvalidOptionsError)
  })
})
