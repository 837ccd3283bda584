// Plugins: each with its state, reason, credit costs and health. Toggling stays in the
// configuration; this page shows what the configuration did.
import { api, ApiError } from "../api.js";
import { badge, h, messageOf } from "../dom.js";
import { session } from "../session.js";

function costs(table) {
  const names = Object.keys(table || {});
  if (!names.length) return h("p", { class: "hint" }, "No charged actions.");
  return h(
    "table",
    {},
    h("caption", { class: "hint" }, "Credit costs"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Action"), h("th", { scope: "col", class: "num" }, "Credits"))),
    h(
      "tbody",
      {},
      names.map((name) => h("tr", {}, h("td", {}, name), h("td", { class: "num" }, table[name]))),
    ),
  );
}

async function health(prefix) {
  try {
    return await api(`${prefix}/health`);
  } catch (error) {
    // A plugin that is down answers 503 with its state in the same shape, or an error.
    if (error instanceof ApiError && error.status === 503) return { status: "down", state: "failed" };
    return { status: "down", state: "unknown", reason: messageOf(error) };
  }
}

function checkList(checks) {
  const names = Object.keys(checks);
  if (!names.length) return null;
  return h(
    "ul",
    { class: "plain checks", "aria-label": "Checks" },
    names.map((name) =>
      h("li", {}, h("strong", {}, name), " ", badge(checks[name].status, "status"), checks[name].detail ? h("span", { class: "hint" }, ` ${checks[name].detail}`) : null),
    ),
  );
}

function appCard(app, checked) {
  return h(
    "li",
    { class: "card" },
    h("h2", {}, app.title),
    h("p", {}, app.description || ""),
    h(
      "p",
      {},
      "State: ",
      badge(app.state),
      " · Health: ",
      badge(checked.status, "status"),
    ),
    // Operators (admins) get the reason and the checks; everyone else the state alone.
    checked.reason ? h("p", {}, "Reason: ", checked.reason) : null,
    checked.checks ? checkList(checked.checks) : null,
    costs(app.credits),
  );
}

function operatorTable(plugins) {
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Installed plugins" },
    h(
      "table",
      {},
      h("caption", { class: "hint" }, "Every installed plugin (operators)"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Plugin", "Version", "State", "Reason", "Routes", "Credits"].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h(
        "tbody",
        {},
        plugins.map((p) =>
          h(
            "tr",
            { "data-plugin": p.id },
            h("td", {}, h("strong", {}, p.title), h("br"), h("code", {}, p.id)),
            h("td", {}, p.version),
            h("td", {}, badge(p.state)),
            h("td", {}, p.reason || "", p.reasonCode ? h("span", { class: "hint" }, ` (${p.reasonCode})`) : null),
            h("td", {}, p.routePrefix || "—"),
            h(
              "td",
              {},
              Object.entries(p.credits || {})
                .map(([name, cost]) => `${name}: ${cost}`)
                .join(", ") || "—",
            ),
          ),
        ),
      ),
    ),
  );
}

export async function plugins(main) {
  const { apps } = await api("/api/apps");
  const checks = await Promise.all(apps.map((app) => health(app.routePrefix)));
  main.append(
    h("h1", { tabindex: "-1" }, "Plugins"),
    h("p", {}, "The apps this server runs, as its configuration set them up. Turning one on or off is done in the configuration."),
    h("ul", { class: "columns", style: undefined, role: "list" }, apps.map((app, i) => appCard(app, checks[i]))),
  );
  if (session.user.role === "admin") {
    const { plugins: all } = await api("/api/plugins");
    main.append(h("section", { class: "card", "aria-labelledby": "all-plugins" }, h("h2", { id: "all-plugins" }, "All installed plugins"), operatorTable(all)));
  }
}
