/**
 * The scope check (refresh/scope-check.ts): none without required scopes, a lack thrown and reported (a fake
 * reauth memory records the report), an unknown scope passing, the provider's dialect applied. No database.
 */
import { describe, expect, test } from "@jest/globals"
import { InsufficientScopeError } from "../../src/errors.js"
import { GITHUB_SCOPES } from "../../src/policy/scopes.js"
import { scopeCheckOf } from "../../src/refresh/scope-check.js"

const account = { userId: "u1", providerAccountId: "p1" }

function reauthFake() {
  const reports: unknown[] = []
  return { reports, reauth: { reportReauth: (...args: unknown[]) => void reports.push(args) } }
}

describe("scopeCheckOf", () => {
  test("no check when no scope is asked for", () => {
    expect(scopeCheckOf(reauthFake().reauth, "acme", undefined, undefined)).toBeUndefined()
    expect(scopeCheckOf(reauthFake().reauth, "acme", [], undefined)).toBeUndefined()
  })

  test("a held scope passes; an unknown (null) scope passes; nothing is reported", () => {
    const { reports, reauth } = reauthFake()
    const check = scopeCheckOf(reauth, "acme", "read write", undefined)!
    expect(() => check(account, "write read admin", "stored")).not.toThrow()
    expect(() => check(account, null, "stored")).not.toThrow()
    expect(reports).toEqual([])
  })

  test("a missing scope throws InsufficientScopeError naming it and its source, and is reported once", () => {
    const { reports, reauth } = reauthFake()
    const check = scopeCheckOf(reauth, "acme", ["read", "write"], undefined)!
    expect(() => check(account, "read", "refresh")).toThrow(InsufficientScopeError)
    expect(reports).toEqual([
      ["acme", account, { reason: "scopes_missing", missingScopes: ["write"], scopeSource: "refresh" }],
    ])
  })

  test("the provider's dialect reads its scopes (GitHub: commas, nested scopes)", () => {
    const check = scopeCheckOf(reauthFake().reauth, "github", ["read:user"], GITHUB_SCOPES)!
    expect(() => check(account, "repo,user", "stored")).not.toThrow()
    expect(() =>
      scopeCheckOf(reauthFake().reauth, "acme", ["read:user"], undefined)!(account, "repo,user", "stored"),
    ).toThrow(InsufficientScopeError)
  })
})
