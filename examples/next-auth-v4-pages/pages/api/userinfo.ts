/**
 * Calls the provider's userinfo endpoint with the signed-in user's access token. With withTokenSync the
 * token comes from `getAccessToken`, which refreshes it (once, across processes) when it is about to
 * expire; the control (TOKEN_SYNC=off) sends the stored token as it is, as an app without the wrapper does.
 */
import { RefreshTokenError } from "authjs-adapter-refresh"
import type { NextApiRequest, NextApiResponse } from "next"
import { getServerSession } from "next-auth/next"

import { exampleAuth } from "../../lib/auth"
import { recordActivity, shorten } from "../../lib/token-state"

export default async function userinfo(req: NextApiRequest, res: NextApiResponse) {
  const auth = exampleAuth()
  const session = await getServerSession(req, res, auth.authOptions)
  if (!session?.user?.id) return res.status(401).json({ error: "not signed in" })
  const userId = session.user.id

  let accessToken: string | null | undefined
  let providerAccountId: string | undefined
  let refreshed = false
  if (auth.tokenSync) {
    try {
      const result = await auth.adapter.getAccessToken({ userId, provider: auth.provider.id })
      accessToken = result.accessToken
      providerAccountId = result.account.providerAccountId
      refreshed = result.refreshed
    } catch (error) {
      if (error instanceof RefreshTokenError) {
        return res
          .status(401)
          .json({ error: "the provider refused the refresh token: sign in again", code: error.code })
      }
      throw error
    }
  } else {
    const account = await auth.prisma.account.findFirst({ where: { userId, provider: auth.provider.id } })
    accessToken = account?.access_token
    providerAccountId = account?.providerAccountId
  }
  if (!accessToken || !providerAccountId)
    return res.status(404).json({ error: "no access token stored for this account" })

  const upstream = await fetch(await auth.userinfoUrl(), {
    headers: {
      authorization: `Bearer ${accessToken}`,
      accept: "application/json",
      "user-agent": "authjs-adapter-refresh-example",
    },
    signal: AbortSignal.timeout(10_000),
  })
  const body = (await upstream.json().catch(() => ({}))) as Record<string, unknown>
  const at = new Date().toISOString()
  recordActivity(auth.provider.id, providerAccountId, {
    ...(refreshed ? { lastRefreshAt: at } : {}),
    lastUserinfo: { status: upstream.status, at },
  })
  return res.status(upstream.status).json({
    status: upstream.status,
    tokenSync: auth.tokenSync,
    refreshed,
    accessToken: shorten(accessToken),
    userinfo: upstream.ok ? body : { error: body.error ?? upstream.statusText },
  })
}
