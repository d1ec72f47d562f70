/** Starts the example on PORT (default 3000), on 127.0.0.1 unless HOST says otherwise. */
import { createApp } from "./app.js"

const { app, tokenSync, close } = createApp()
const port = Number(process.env.PORT) || 3000
const host = process.env.HOST?.trim() || "127.0.0.1"
const server = app.listen(port, host, () => {
  console.log(
    `[example-express] listening on http://${host}:${port} (${tokenSync ? "withTokenSync" : "control: bare adapter"})`,
  )
})
const shutdown = (): void => {
  server.close(() => void close().finally(() => process.exit(0)))
  server.closeAllConnections()
}
process.on("SIGINT", shutdown)
process.on("SIGTERM", shutdown)
