import { TokenSyncError } from "authjs-adapter-refresh"
import { auth } from "../../../auth"
import { prisma } from "../../../lib/prisma"
import { appSetup } from "../../../lib/setup"
import { recordActivity, shorten } from "../../../lib/token-state"

export const dynamic = "force-dynamic"

/**
 * Calls the provider's userinfo endpoint with the signed-in user's access token and answers with the
 * provider's status. With withTokenSync the token comes from `getAccessToken`, which refreshes it when it is
 * about to expire (once per expiry across processes) and stores what the provider issued. In the control
 * (TOKEN_SYNC=off) it is the token the bare adapter stored, as an app without the wrapper would send it.
 */
export async function GET(): Promise<Response> {
  const session = await auth()
  const userId = session?.user?.id
  if (!userId) return Response.json({ error: "not signed in" }, { status: 401 })

  const setup = appSetup()
  const provider = setup.choice.id
  let accessToken: string
  let providerAccountId: string
  let refreshed = false
  if (setup.tokenSync) {
    try {
      const result = await setup.adapter.getAccessToken({ userId, provider })
      accessToken = result.accessToken
      providerAccountId = result.account.providerAccountId
      refreshed = result.refreshed
    } catch (error) {
      // Typed, and never carrying a token: safe to answer with. RefreshTokenError means "sign in again".
      if (error instanceof TokenSyncError)
        return Response.json({ error: error.code, message: error.message }, { status: 502 })
      throw error
    }
    if (refreshed) recordActivity(provider, providerAccountId, { lastRefreshAt: new Date() })
  } else {
    const account = await prisma().account.findFirst({ where: { userId, provider } })
    if (!account?.access_token) return Response.json({ error: "no stored access token" }, { status: 409 })
    accessToken = account.access_token
    providerAccountId = account.providerAccountId
  }

  const response = await fetch(await setup.choice.userinfoUrl(), {
    headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
    signal: AbortSignal.timeout(10_000),
  })
  recordActivity(provider, providerAccountId, { lastUserinfo: { status: response.status, at: new Date() } })
  const body = {
    tokenSync: setup.tokenSync,
    refreshed,
    accessToken: shorten(accessToken),
    providerStatus: response.status,
    // The provider's claims about the signed-in user on success; nothing of its error text otherwise.
    userinfo: response.ok ? ((await response.json()) as unknown) : undefined,
  }
  return Response.json(body, { status: response.ok ? 200 : response.status })
}
