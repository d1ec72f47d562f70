import type { NextApiRequest, NextApiResponse } from "next"
import NextAuth from "next-auth"

import { exampleAuth } from "../../../lib/auth"

export default function auth(req: NextApiRequest, res: NextApiResponse) {
  return NextAuth(req, res, exampleAuth().authOptions)
}
