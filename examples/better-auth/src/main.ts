/** Starts the example on PORT (default 3000), on 127.0.0.1 unless HOST says otherwise. */
import { settingsFrom } from "./auth.js"
import { createApp } from "./app.js"

const settings = settingsFrom()
const { server, tokenSync, close } = await createApp(settings)
const port = Number(process.env.PORT) || 3000
const host = process.env.HOST?.trim() || "127.0.0.1"
server.listen(port, host, () => {
  const mode = tokenSync ? "tokenSync plugin" : "control: plain Better Auth"
  console.log(`[example-better-auth] listening on ${settings.baseURL} (${mode})`)
})
const shutdown = (): void => {
  server.close(() => void close().finally(() => process.exit(0)))
  server.closeAllConnections()
}
process.on("SIGINT", shutdown)
process.on("SIGTERM", shutdown)
