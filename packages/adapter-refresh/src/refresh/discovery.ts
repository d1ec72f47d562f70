/**
 * Discovery from a `wellKnown` URL, the way next-auth 4 provider objects name their authorization server
 * (GoogleProvider, AzureADProvider and the generic OAuth config carry `wellKnown` and no `issuer`).
 * oauth4webapi's `discoveryRequest` builds the URL from an issuer; a wellKnown URL is already the whole
 * document URL (Azure AD's carries a query), so it is fetched as given and the document checked here.
 *
 * The document is provider text: only `issuer` and `token_endpoint` (and `revocation_endpoint`, checked
 * where it is used) are taken from it, both must be absolute URLs, and the token endpoint (which receives
 * the client secret and the refresh token) must be https unless plain http is allowed (loopback, or
 * `allowInsecureRequests`). Redirects are not followed.
 */
import type * as oauth from "oauth4webapi"
import { MAX_DISCOVERY_BODY_BYTES, readBoundedText } from "./bounded-body.js"

/** A discovery failure: a short, loggable reason, never the document's text. */
export class DiscoveryDocumentError extends Error {
  readonly detail: string
  constructor(detail: string) {
    super(`wellKnown discovery failed: ${detail}`)
    this.name = "DiscoveryDocumentError"
    this.detail = detail
  }
}

/**
 * Microsoft's multi-tenant documents (`common`, `organizations`, `consumers`) name their issuer as a
 * template: `https://login.microsoftonline.com/{tenantid}/v2.0`. ID tokens then carry the user's tenant.
 */
export const isIssuerTemplate = (issuer: string): boolean => issuer.includes("{tenantid}")

const withoutTrailingSlash = (url: string): string => url.replace(/\/$/, "")

/** `template` with `{tenantid}` standing for exactly one path segment of `issuer` (`common`, a tenant id). */
export function templateMatches(template: string, issuer: string): boolean {
  const [before, after, ...more] = withoutTrailingSlash(template).split("{tenantid}")
  const actual = withoutTrailingSlash(issuer)
  if (before === undefined || after === undefined || more.length) return false
  if (!actual.startsWith(before) || !actual.endsWith(after) || actual.length <= before.length + after.length)
    return false
  return /^[^/?#]+$/.test(actual.slice(before.length, actual.length - after.length))
}

/** Whether a URL names this machine: the only hosts plain http is ever allowed for. */
export const isLoopbackUrl = (url: URL): boolean =>
  url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]"

/** The issuer a standard wellKnown URL is derived from (`<issuer>/.well-known/openid-configuration`), if it is one. */
export function issuerOfWellKnown(wellKnown: URL): string | undefined {
  const suffix = "/.well-known/openid-configuration"
  if (wellKnown.search || wellKnown.hash || !wellKnown.pathname.endsWith(suffix)) return undefined
  return wellKnown.origin + wellKnown.pathname.slice(0, -suffix.length)
}

function absoluteUrl(value: unknown, field: string): URL {
  if (typeof value !== "string" || value === "") throw new DiscoveryDocumentError(`the document has no ${field}`)
  try {
    return new URL(value)
  } catch {
    throw new DiscoveryDocumentError(`the document's ${field} is not an absolute URL`)
  }
}

/**
 * Fetches and checks the discovery document at `wellKnown`. When the URL is the standard one derived
 * from an issuer, the document's `issuer` must be that issuer (OpenID Connect Discovery 1.0 §4.3), except
 * for Microsoft's multi-tenant template. Elsewhere (a query, another path) the document's `issuer` is
 * taken as it is: it came over the URL the app configured.
 */
export async function discoverFromWellKnown(
  wellKnown: string,
  options: { signal: AbortSignal; allowInsecure: boolean },
): Promise<oauth.AuthorizationServer> {
  const url = new URL(wellKnown)
  const response = await fetch(url, {
    headers: { accept: "application/json" },
    redirect: "manual",
    signal: options.signal,
  })
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new DiscoveryDocumentError(`HTTP status ${response.status}`)
  }
  const text = await readBoundedText(response, MAX_DISCOVERY_BODY_BYTES)
  if (text === undefined)
    throw new DiscoveryDocumentError(`the document is larger than ${MAX_DISCOVERY_BODY_BYTES} bytes`)
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    throw new DiscoveryDocumentError("the document is not JSON")
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new DiscoveryDocumentError("the document is not a JSON object")
  }
  return checkedMetadata(document as Record<string, unknown>, issuerOfWellKnown(url), options.allowInsecure)
}

/**
 * The authorization server metadata refresh needs, checked: `issuer` equal to the expected one (when one is
 * expected) or a `{tenantid}` template of it, and an https `token_endpoint` (http only on loopback).
 */
export function checkedMetadata(
  document: Record<string, unknown>,
  expectedIssuer: string | undefined,
  allowInsecure: boolean,
): oauth.AuthorizationServer {
  const { issuer, token_endpoint: tokenEndpoint } = document
  absoluteUrl(issuer, "issuer")
  const claimed = issuer as string
  if (
    expectedIssuer !== undefined &&
    withoutTrailingSlash(claimed) !== withoutTrailingSlash(expectedIssuer) &&
    !(isIssuerTemplate(claimed) && templateMatches(claimed, expectedIssuer))
  ) {
    throw new DiscoveryDocumentError("the document's issuer does not match the expected issuer")
  }
  const token = absoluteUrl(tokenEndpoint, "token_endpoint")
  if (token.protocol !== "https:" && !(token.protocol === "http:" && allowInsecure && isLoopbackUrl(token))) {
    throw new DiscoveryDocumentError("the document's token_endpoint is not https (plain http only on loopback)")
  }
  // The revocation endpoint is kept as the document says; it is checked where a token would be sent to it.
  const revocation = document.revocation_endpoint
  return {
    issuer: claimed,
    token_endpoint: token.href,
    ...(typeof revocation === "string" && revocation !== "" ? { revocation_endpoint: revocation } : {}),
  }
}
