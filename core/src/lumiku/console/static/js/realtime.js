// Socket.IO, as any client uses it: one socket per namespace, the token in auth.token.
// The client library is the npm package socket.io-client, copied by `make console-assets`.
import { io } from "../vendor/socket.io.esm.min.js";
import { getToken } from "./api.js";

const sockets = new Map();

/** Return the socket of `namespace` ("/credits", "/pose-generator"), connecting it once. */
export function socketOf(namespace) {
  let socket = sockets.get(namespace);
  if (!socket) {
    socket = io(namespace, {
      auth: (send) => send({ token: getToken() }),
      transports: ["websocket", "polling"],
    });
    sockets.set(namespace, socket);
  }
  return socket;
}

/** Resolve once the socket of `namespace` is connected (or after `ms`, not connected). */
export function connected(namespace, ms = 5000) {
  const socket = socketOf(namespace);
  if (socket.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Close every socket (signing out). */
export function closeAll() {
  for (const socket of sockets.values()) socket.disconnect();
  sockets.clear();
}
