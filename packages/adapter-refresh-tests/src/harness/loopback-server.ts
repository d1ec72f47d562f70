import type { Server } from "node:http"
import type { AddressInfo, Socket } from "node:net"

/**
 * Starts `server` on 127.0.0.1 on a free port and returns the port and an idempotent `stop()` that also
 * destroys kept-alive sockets, so a test's servers never hold Jest open.
 */
export async function listenOnLoopback(server: Server): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>()
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  let stopped: Promise<void> | undefined
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      (stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
        for (const socket of sockets) socket.destroy()
      })),
  }
}
