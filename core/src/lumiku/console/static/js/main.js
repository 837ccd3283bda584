// The console's router: one view per #/path, shown after the session is known.
import { api, ApiError, getToken, onSignedOut, setToken } from "./api.js";
import { announce, clearMessages, h, showError } from "./dom.js";
import { closeAll } from "./realtime.js";
import { followCredits, leaveView, refreshBalance, session } from "./session.js";
import { account } from "./views/account.js";
import { admin } from "./views/admin.js";
import { signIn } from "./views/auth.js";
import { avatars } from "./views/avatars.js";
import { buy } from "./views/buy.js";
import { plugins } from "./views/plugins.js";
import { poses } from "./views/poses.js";

// The plugin each section needs: its link is hidden while the plugin does not serve.
const NEEDS = { "/avatars": "avatar_creator", "/poses": "pose_generator", "/buy": "payments_duitku" };
const VIEWS = {
  "/account": account,
  "/plugins": plugins,
  "/avatars": avatars,
  "/poses": poses,
  "/buy": buy,
  "/admin": admin,
};
const main = () => document.getElementById("main");
let routing = 0;

function showSession(user) {
  document.getElementById("session").hidden = !user;
  document.getElementById("nav").hidden = !user;
  document.getElementById("nav-admin").hidden = !user || user.role !== "admin";
  document.getElementById("who").textContent = user ? `${user.name || user.email}` : "";
  if (!user) document.getElementById("credits").textContent = "";
}

/** Show the sections whose plugin serves (GET /api/apps lists those). */
async function loadApps() {
  const { apps } = await api("/api/apps");
  session.apps = new Set(apps.map((app) => app.id));
  for (const item of document.querySelectorAll("nav [data-app]")) item.hidden = !session.apps.has(item.dataset.app);
}

async function signedIn(user) {
  session.user = user;
  showSession(user);
  await loadApps();
  followCredits();
  await refreshBalance();
  if (!location.hash || location.hash === "#/sign-in") history.replaceState(null, "", "#/account");
  await route();
}

function signedOut(message) {
  session.user = null;
  closeAll();
  showSession(null);
  history.replaceState(null, "", "#/sign-in");
  route().then(() => message && showError(new ApiError(message)));
}

async function route() {
  const run = ++routing;
  leaveView();
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/account";
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === `#${path}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const target = main();
  target.replaceChildren();
  target.setAttribute("aria-busy", "true");
  try {
    if (!session.user) {
      signIn(target, { signedIn });
    } else {
      const view = VIEWS[path] || VIEWS["/account"];
      const needed = NEEDS[path];
      if (path === "/admin" && session.user.role !== "admin") {
        target.append(h("h1", { tabindex: "-1" }, "Admin"), h("p", {}, "This page is for administrators."));
      } else if (needed && !session.apps.has(needed)) {
        target.append(
          h("h1", { tabindex: "-1" }, "Not available"),
          h("p", {}, "The plugin of this section is not running on this server. ", h("a", { href: "#/plugins" }, "See the plugins"), "."),
        );
      } else {
        await view(target);
      }
    }
  } catch (error) {
    if (run === routing) showError(error);
  } finally {
    target.removeAttribute("aria-busy");
  }
  if (run === routing) {
    document.title = `${target.querySelector("h1")?.textContent || "Lumiku"} · Lumiku console`;
    // After a move within the console, focus goes to the new page's heading (as a page
    // load would announce it); the first load leaves focus at the top of the page.
    if (run > 1) target.querySelector("h1")?.focus();
  }
}

async function start() {
  onSignedOut((message) => signedOut(`${message} Sign in again.`));
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await api("/api/auth/logout", { method: "POST" });
    } catch {
      // the token is dropped either way
    }
    setToken(null);
    signedOut();
    announce("Signed out.");
  });
  window.addEventListener("hashchange", () => {
    if (!location.hash.startsWith("#/")) return;
    clearMessages();
    route();
  });
  // The skip link moves focus without touching the hash (the router's).
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main().focus();
  });
  if (getToken()) {
    try {
      const profile = await api("/api/auth/profile");
      session.user = profile.user;
      showSession(profile.user);
      await loadApps();
      followCredits();
      await refreshBalance();
    } catch (error) {
      setToken(null);
      showError(error);
    }
  }
  await route();
}

start();
