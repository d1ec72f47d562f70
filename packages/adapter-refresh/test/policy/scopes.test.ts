import { describe, expect, test } from "@jest/globals"
import { InsufficientScopeError, InvalidAccountInputError } from "../../src/errors.js"
import {
  GITHUB_SCOPES,
  GOOGLE_SCOPES,
  MAX_REQUIRED_SCOPES,
  RFC6749_SCOPES,
  missingScopes,
  requiredScopesOf,
  scopeDialectOf,
} from "../../src/policy/scopes.js"

const EMAIL_URL = "https://www.googleapis.com/auth/userinfo.email"
const PROFILE_URL = "https://www.googleapis.com/auth/userinfo.profile"

/** The InvalidAccountInputError thrown by `run`, or a failure when it does not throw one. */
function invalid(run: () => unknown): InvalidAccountInputError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAccountInputError)
    return error as InvalidAccountInputError
  }
  throw new Error("expected an InvalidAccountInputError")
}

describe("missingScopes: RFC 6749 §3.3 comparison", () => {
  test("order-free: the stored order does not matter", () => {
    expect(missingScopes(["profile", "openid"], "openid email profile")).toEqual([])
    expect(missingScopes(["profile", "openid"], "profile openid")).toEqual([])
  })
  test("case-sensitive: Email is not email", () => {
    expect(missingScopes(["Email"], "openid email")).toEqual(["Email"])
    expect(missingScopes(["email"], "openid EMAIL")).toEqual(["email"])
  })
  test("whole tokens only: a prefix or a substring is not the scope", () => {
    expect(missingScopes(["read"], "read:user readonly")).toEqual(["read"])
    expect(missingScopes(["mail"], "email")).toEqual(["mail"])
  })
  test("names every missing scope, in the order asked, and only those", () => {
    expect(missingScopes(["c", "openid", "a", "b"], "openid b")).toEqual(["c", "a"])
  })
  test("several spaces, or leading and trailing ones, separate like one", () => {
    expect(missingScopes(["a", "b"], "  a    b  ")).toEqual([])
  })
  test("an unknown stored scope is not a missing one: null, undefined, empty, blank, not a string", () => {
    for (const unknown of [null, undefined, "", "   ", 42, {}])
      expect(missingScopes(["calendar"], unknown)).toBeUndefined()
  })
  test("control: a known stored scope without the scope does report it", () => {
    expect(missingScopes(["calendar"], "openid")).toEqual(["calendar"])
  })
  test("asking for nothing is satisfied by any known scope", () => {
    expect(missingScopes([], "openid")).toEqual([])
  })
})

describe("missingScopes: providers that store scopes in their own shape", () => {
  test("Google: email and profile are stored under their long names; openid stays", () => {
    const stored = `openid ${EMAIL_URL} ${PROFILE_URL}`
    expect(missingScopes(["openid", "email", "profile"], stored, GOOGLE_SCOPES)).toEqual([])
    // The long names asked for are found under the short ones too.
    expect(missingScopes([EMAIL_URL, PROFILE_URL], "openid email profile", GOOGLE_SCOPES)).toEqual([])
    // Still a real answer for what Google did not grant.
    const calendar = "https://www.googleapis.com/auth/calendar.readonly"
    expect(missingScopes(["email", calendar], stored, GOOGLE_SCOPES)).toEqual([calendar])
  })
  test("control: compared as RFC 6749 alone, Google's long names would report email and profile missing", () => {
    expect(missingScopes(["email", "profile"], `openid ${EMAIL_URL} ${PROFILE_URL}`, RFC6749_SCOPES)).toEqual([
      "email",
      "profile",
    ])
  })
  test("GitHub: comma-separated (token answer) or comma-space (X-OAuth-Scopes)", () => {
    expect(missingScopes(["gist", "repo"], "repo,gist", GITHUB_SCOPES)).toEqual([])
    expect(missingScopes(["gist", "repo"], "repo, gist", GITHUB_SCOPES)).toEqual([])
    expect(missingScopes(["read:org"], "repo,gist", GITHUB_SCOPES)).toEqual(["read:org"])
  })
  test("GitHub: a broad scope grants the narrower ones, transitively; never the other way", () => {
    expect(missingScopes(["public_repo", "repo:status", "user:email"], "repo,user", GITHUB_SCOPES)).toEqual([])
    expect(missingScopes(["read:org"], "admin:org", GITHUB_SCOPES)).toEqual([])
    expect(missingScopes(["repo"], "public_repo", GITHUB_SCOPES)).toEqual(["repo"])
  })
  test("control: compared as RFC 6749 alone, GitHub's 'repo,gist' would be one scope", () => {
    expect(missingScopes(["repo"], "repo,gist", RFC6749_SCOPES)).toEqual(["repo"])
  })
})

describe("scopeDialectOf: which table applies", () => {
  test("by host, whatever the provider's id", () => {
    expect(scopeDialectOf({ id: "google-work", issuer: "https://accounts.google.com" })).toBe(GOOGLE_SCOPES)
    expect(
      scopeDialectOf({ id: "g", discoveryUrl: "https://accounts.google.com/.well-known/openid-configuration" }),
    ).toBe(GOOGLE_SCOPES)
    expect(scopeDialectOf({ id: "gh", tokenEndpoint: "https://github.com/login/oauth/access_token" })).toBe(
      GITHUB_SCOPES,
    )
  })
  test("by Auth.js's built-in id when no host is known", () => {
    expect(scopeDialectOf({ id: "github", tokenEndpoint: "https://ghe.example.com/login/oauth/access_token" })).toBe(
      GITHUB_SCOPES,
    )
    expect(scopeDialectOf({ id: "google" })).toBe(GOOGLE_SCOPES)
  })
  test("anything else: RFC 6749 as written; a host that merely contains google.com is not Google", () => {
    expect(scopeDialectOf({ id: "keycloak", issuer: "https://sso.example.com/realms/app" })).toBe(RFC6749_SCOPES)
    expect(scopeDialectOf({ id: "x", issuer: "https://accounts.google.com.evil.example" })).toBe(RFC6749_SCOPES)
    expect(scopeDialectOf({ id: "x", issuer: "not a url" })).toBe(RFC6749_SCOPES)
  })
})

describe("requiredScopesOf: the caller's scopes option", () => {
  test("an array, or one space-delimited string; duplicates dropped, order kept", () => {
    expect(requiredScopesOf(["email", "openid", "email"])).toEqual(["email", "openid"])
    expect(requiredScopesOf("  email  openid email ")).toEqual(["email", "openid"])
    expect(requiredScopesOf(["https://graph.microsoft.com/User.Read", "read:org"])).toEqual([
      "https://graph.microsoft.com/User.Read",
      "read:org",
    ])
  })
  test("nothing asked: undefined, [] and '' ask for no scope", () => {
    expect(requiredScopesOf(undefined)).toEqual([])
    expect(requiredScopesOf([])).toEqual([])
    expect(requiredScopesOf("")).toEqual([])
  })
  test("refused with a typed error naming the entry, never echoing it", () => {
    const spaced = invalid(() => requiredScopesOf(["email", "a b"]))
    expect(spaced.field).toBe("scopes")
    expect(spaced.message).toMatch(/entry #1 is not one RFC 6749 scope-token/)
    expect(invalid(() => requiredScopesOf(['say"hi'])).message).toMatch(/entry #0/)
    expect(invalid(() => requiredScopesOf(["back\\slash"])).message).toMatch(/entry #0/)
    expect(invalid(() => requiredScopesOf(["zq\tzq"])).message).not.toMatch(/zq/)
    expect(invalid(() => requiredScopesOf(["\u00e9mail"])).message).toMatch(/entry #0/)
    expect(invalid(() => requiredScopesOf([""])).message).toMatch(/entry #0/)
    expect(invalid(() => requiredScopesOf([42])).message).toMatch(/entry #0 is not a string/)
    expect(invalid(() => requiredScopesOf({ scope: "email" })).message).toMatch(/must be an array/)
    expect(invalid(() => requiredScopesOf("email\nprofile")).message).toMatch(/scope #0/)
  })
  test("bounded: too many or too long scopes are refused", () => {
    const many = Array.from({ length: MAX_REQUIRED_SCOPES + 1 }, (_, i) => `s${i}`)
    expect(invalid(() => requiredScopesOf(many)).message).toMatch(/more than 256 scopes/)
    expect(invalid(() => requiredScopesOf(many.join(" "))).message).toMatch(/more than 256 scopes/)
    expect(invalid(() => requiredScopesOf(["a".repeat(2049)])).message).toMatch(/longer than 2048/)
    expect(requiredScopesOf(many.slice(0, MAX_REQUIRED_SCOPES))).toHaveLength(MAX_REQUIRED_SCOPES)
  })
})

describe("InsufficientScopeError", () => {
  test("a stable code, the provider and the missing scopes, and a bounded message", () => {
    const error = new InsufficientScopeError("google", ["calendar", "drive"], "stored")
    expect(error.code).toBe("INSUFFICIENT_SCOPE")
    expect(error.name).toBe("InsufficientScopeError")
    expect(error.provider).toBe("google")
    expect(error.missingScopes).toEqual(["calendar", "drive"])
    expect(error.providerCalled).toBe(false)
    expect(error.message).toMatch(/"calendar", "drive"/)
    expect(error.message).toMatch(/the provider was not called/)
    const many = Array.from({ length: 40 }, (_, i) => `scope-${i}-${"x".repeat(200)}`)
    const long = new InsufficientScopeError("p", many, "resource_server")
    expect(long.missingScopes).toHaveLength(40)
    expect(long.message.length).toBeLessThan(2_000)
    expect(long.message).toMatch(/and 30 more/)
    expect(new InsufficientScopeError("p", ["a"], "refresh").providerCalled).toBe(true)
  })
})
