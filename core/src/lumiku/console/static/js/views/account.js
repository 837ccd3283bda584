// Credits: balance, held, available, and the history page by page.
import { api } from "../api.js";
import { fill, h, when } from "../dom.js";
import { onBalance, refreshBalance, session } from "../session.js";

const PAGE = 10;

function figures(balance) {
  return h(
    "dl",
    { class: "figures" },
    h("div", {}, h("dt", {}, "Balance"), h("dd", { "data-figure": "balance" }, balance.balance)),
    h("div", {}, h("dt", {}, "Held for running jobs"), h("dd", { "data-figure": "held" }, balance.held)),
    h("div", {}, h("dt", {}, "Available"), h("dd", { "data-figure": "available" }, balance.available)),
  );
}

function entryRow(entry) {
  const sign = entry.amount > 0 ? "positive" : entry.amount < 0 ? "negative" : "";
  return h(
    "tr",
    {},
    h("td", {}, when(entry.createdAt)),
    h("td", {}, entry.reason, entry.plugin ? h("span", { class: "hint" }, ` (${entry.plugin})`) : null),
    h("td", { class: `num ${sign}` }, entry.amount > 0 ? `+${entry.amount}` : entry.amount),
    h("td", { class: "num" }, entry.balanceAfter),
  );
}

export async function account(main) {
  const summary = h("div", {});
  const rows = h("tbody", {});
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show older entries");
  const status = h("p", { class: "hint", "aria-live": "polite", tabindex: "-1" });
  let cursor = null;

  async function loadPage() {
    const page = await api("/api/credits/history", { query: { limit: PAGE, cursor } });
    rows.append(...page.entries.map(entryRow));
    cursor = page.nextCursor;
    more.hidden = !cursor;
    const shown = rows.children.length;
    const noun = shown === 1 ? "entry" : "entries";
    status.textContent = shown ? `${shown} ${noun} shown${cursor ? "; older ones remain" : ""}.` : "No entries yet.";
  }

  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      await loadPage();
    } finally {
      more.disabled = false;
    }
    if (more.hidden) status.focus(); // the button is gone: keep focus near where it was
  });

  onBalance((balance) => fill(summary, figures(balance)));
  const user = session.user;
  main.append(
    h("h1", { tabindex: "-1" }, "Credits"),
    h("p", {}, `Signed in as ${user.email} (${user.role}).`),
    h("section", { class: "card", "aria-labelledby": "balance-title" }, h("h2", { id: "balance-title" }, "Balance"), summary),
    h(
      "section",
      { class: "card", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "History"),
      h(
        "div",
        { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Credit history table" },
        h(
          "table",
          {},
          h("caption", { class: "hint" }, "Newest first; amounts and balance after each entry in credits."),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "When"),
              h("th", { scope: "col" }, "What"),
              h("th", { scope: "col", class: "num" }, "Amount"),
              h("th", { scope: "col", class: "num" }, "After"),
            ),
          ),
          rows,
        ),
      ),
      status,
      h("div", { class: "actions" }, more),
    ),
  );
  await refreshBalance();
  await loadPage();
}
