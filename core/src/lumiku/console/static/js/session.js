// The signed-in user, their credits (kept current by credits:balance events on /credits),
// and what the current view must undo when the page moves on.
import { api } from "./api.js";
import { credits } from "./dom.js";
import { socketOf } from "./realtime.js";

export const session = { user: null, balance: null, apps: new Set() };

const balanceListeners = new Set();
let leaving = [];

/** Call `listener(balance)` on every balance change while the current view is shown. */
export function onBalance(listener) {
  balanceListeners.add(listener);
  onLeave(() => balanceListeners.delete(listener));
}

/** Run `cleanup` when the page leaves the current view. */
export function onLeave(cleanup) {
  leaving.push(cleanup);
}

export function leaveView() {
  const cleanups = leaving;
  leaving = [];
  for (const cleanup of cleanups) cleanup();
}

export function setBalance(balance) {
  session.balance = balance;
  const line = document.getElementById("credits");
  line.textContent = `${credits(balance.available)} available` + (balance.held ? ` (${balance.held} held)` : "");
  for (const listener of balanceListeners) listener(balance);
}

export async function refreshBalance() {
  setBalance(await api("/api/credits/balance"));
}

/** Follow the account's balance: the core sends credits:balance after every change. */
export function followCredits() {
  const socket = socketOf("/credits");
  socket.off("credits:balance");
  socket.on("credits:balance", (balance) => setBalance(balance));
  // After a reconnect an event may have been missed: read the balance again.
  socket.on("connect", () => refreshBalance().catch(() => {}));
}

/** Listen to `event` of a namespace while the current view is shown. */
export function listen(namespace, event, handler) {
  const socket = socketOf(namespace);
  socket.on(event, handler);
  onLeave(() => socket.off(event, handler));
}
