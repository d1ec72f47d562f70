/**
 * `fetchWithAccessToken`: `fetch` with the account's access token as a Bearer token (RFC 6750 §2.1), that
 * follows the API's refusal as RFC 6750 §3.1 says. Small on purpose: one refresh and one retry at most.
 */
import type { AccessTokenResult, GetAccessTokenParams } from "./engine-types.js"
import { classifyBearerRefusal, insufficientScopeErrorOf, type BearerRefusal } from "./bearer-challenge.js"

/** What `fetchWithAccessToken` needs of the wrapped adapter: its `getAccessToken`. */
export interface AccessTokenSource {
  getAccessToken(params: GetAccessTokenParams): Promise<AccessTokenResult>
}

/**
 * Whether a 401 means "this access token is no good": `invalid_token`, or no error code at all (no
 * `WWW-Authenticate`, or a Bearer challenge without `error`: an API that only says "401").
 */
const refusesToken = (refusal: BearerRefusal): boolean =>
  refusal.status === 401 &&
  (refusal.kind === "invalid_token" ||
    (refusal.kind === "other" && (refusal.reason === "no_header" || refusal.reason === "no_error_code")))

/**
 * Whether the request can be sent twice: a body given as a stream (a `ReadableStream`, an async iterable)
 * or inside a `Request` is read by the first send and cannot be read again.
 */
function replayable(input: string | URL | Request, init: RequestInit | undefined): boolean {
  const body: unknown = init?.body
  if (body === undefined || body === null) return !(input instanceof Request && input.body !== null)
  if (body instanceof ReadableStream) return false
  return !(typeof body === "object" && Symbol.asyncIterator in body)
}

/** Frees the connection of an answer that is not returned. */
const discard = async (response: Response): Promise<void> => {
  await response.body?.cancel().catch(() => undefined)
}

async function send(input: string | URL | Request, init: RequestInit | undefined, token: string): Promise<Response> {
  const request = new Request(input, init)
  request.headers.set("authorization", `Bearer ${token}`)
  return fetch(request)
}

/** The answer as it is, unless it says the token lacks scopes (RFC 6750 §3.1 `insufficient_scope`). */
async function checked(response: Response, provider: string): Promise<{ response: Response; refusal: BearerRefusal }> {
  const refusal = classifyBearerRefusal(response.status, response.headers.get("www-authenticate"))
  if (refusal.kind === "insufficient_scope") {
    await discard(response)
    throw insufficientScopeErrorOf(provider, refusal)
  }
  return { response, refusal }
}

/**
 * Calls an API with the account's access token, as `fetch(input, init)` with `Authorization: Bearer <token>`,
 * following RFC 6750 §3.1:
 * - a 401 with `invalid_token` (or a 401 with no error code: no challenge, or a Bearer challenge without
 *   `error`) refreshes once through `getAccessToken({ ...params, refusedAccessToken })` and sends the
 *   request once more; the second answer is returned as it is, whatever it is;
 * - `insufficient_scope` (401 or 403) throws {@link InsufficientScopeError} (`source: "resource_server"`):
 *   a refresh cannot add scopes, so none is made;
 * - every other answer is returned as it is (the caller reads its status).
 *
 * A request whose body is a stream (a `ReadableStream`, an async iterable, or the body of a `Request` given as
 * `input`) cannot be sent twice: its 401 is returned as it is, with no refresh. Give such a body as a string,
 * `Blob`, `ArrayBuffer`, `FormData` or `URLSearchParams` to get the retry.
 *
 * @param adapter The wrapped adapter (anything with `getAccessToken`).
 * @param params Whose token: `userId`, `provider`, and `providerAccountId` / `scopes` as for `getAccessToken`.
 * @param input What `fetch` takes: a URL or a `Request`.
 * @param init What `fetch` takes; its `Authorization` header is replaced.
 * @returns The API's answer (the retry's, when there was one).
 * @throws {@link InsufficientScopeError} the API answered `insufficient_scope`: authorize more scopes.
 * @throws {@link AccessTokenRefusedError} the token was refused and cannot be replaced yet (`retryAfterMs`).
 * @throws Whatever `getAccessToken` throws (RefreshTokenError: sign in again; ...) and `fetch` rejects with.
 * @see [RFC 6750 §3.1](https://www.rfc-editor.org/rfc/rfc6750#section-3.1)
 * @example
 * ```ts
 * const response = await fetchWithAccessToken(adapter, { userId, provider: "google" }, "https://api.example/me")
 * ```
 */
export async function fetchWithAccessToken(
  adapter: AccessTokenSource,
  params: GetAccessTokenParams,
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const { refusedAccessToken: _ignored, ...ask } = params
  const canRetry = replayable(input, init)
  const first = await adapter.getAccessToken(ask)
  const { response, refusal } = await checked(await send(input, init, first.accessToken), params.provider)
  if (!canRetry || !refusesToken(refusal)) return response
  await discard(response)
  const next = await adapter.getAccessToken({ ...ask, refusedAccessToken: first.accessToken })
  return (await checked(await send(input, init, next.accessToken), params.provider)).response
}
