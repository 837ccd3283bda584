// Buy credits: a package, a payment, its paymentUrl (Duitku's page; the emulator's in
// development), and the balance changing when the callback lands, without reloading.
import { api } from "../api.js";
import { announce, badge, credits, fill, h, onSubmit, when } from "../dom.js";
import { onBalance, refreshBalance } from "../session.js";

const APP = "/api/payments";

function rupiah(amount) {
  return `Rp ${Number(amount).toLocaleString("id-ID")}`;
}

function paymentRow(payment) {
  const pay = payment.status === "pending" && payment.paymentUrl
    ? h("a", { href: payment.paymentUrl, target: "_blank", rel: "noopener" }, "Pay", h("span", { class: "visually-hidden" }, ` order ${payment.merchantOrderId} (opens a new tab)`))
    : null;
  return h(
    "tr",
    { "data-order": payment.merchantOrderId },
    h("td", {}, h("code", { class: "wrap" }, payment.merchantOrderId), h("br"), h("span", { class: "hint" }, when(payment.createdAt))),
    h("td", { class: "num" }, payment.credits, h("br"), h("span", { class: "hint" }, rupiah(payment.amount))),
    h("td", {}, badge(payment.status, "status"), pay ? h("br") : null, pay),
  );
}

export async function buy(main) {
  const { packages } = await api(`${APP}/packages`);
  const checkout = h("div", { "aria-live": "polite" });
  const rows = h("tbody", {});
  const balanceLine = h("p", { id: "buy-balance" });

  async function loadPayments() {
    const page = await api(APP, { query: { limit: 10 } });
    fill(rows, page.payments.length ? page.payments.map(paymentRow) : h("tr", {}, h("td", { colspan: 3 }, "No payments yet.")));
  }

  let before = null;
  let pending = null; // the order created on this page, until the balance grows
  onBalance((balance) => {
    if (before !== null && balance.balance > before) {
      announce(`Payment received: your balance is now ${credits(balance.balance)}.`);
      if (pending) fill(checkout, h("p", { class: "positive" }, `Order ${pending} is paid: thank you.`));
      pending = null;
      loadPayments().catch(() => {});
    }
    before = balance.balance;
    balanceLine.textContent = `Your balance: ${credits(balance.balance)}.`;
  });

  const choices = packages.map((p, i) =>
    h(
      "label",
      { class: "inline", for: `pkg-${p.id}` },
      h("input", { type: "radio", name: "packageId", id: `pkg-${p.id}`, value: p.id, checked: i === 0, required: true }),
      `${p.name}: ${credits(p.credits)} for ${rupiah(p.price)}`,
    ),
  );
  const form = onSubmit(
    h(
      "form",
      { "aria-labelledby": "packages-title" },
      h("h2", { id: "packages-title" }, "Packages"),
      h("fieldset", {}, h("legend", {}, "Choose a package"), choices),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Create payment")),
    ),
    async (f) => {
      const packageId = f.querySelector("input[name=packageId]:checked").value;
      const payment = await api(APP, { method: "POST", json: { packageId }, idempotent: true });
      pending = payment.merchantOrderId;
      fill(
        checkout,
        h("p", {}, `Order ${payment.merchantOrderId}: ${credits(payment.credits)} for ${rupiah(payment.amount)}.`),
        payment.paymentUrl
          ? h(
              "p",
              {},
              h("a", { class: "button", href: payment.paymentUrl, target: "_blank", rel: "noopener", id: "pay-link" }, "Pay now"),
              h("span", { class: "hint" }, " Opens the payment page in a new tab; this page updates when the payment is confirmed."),
            )
          : h("p", {}, `Transfer to virtual account ${payment.vaNumber || "(none)"}.`),
      );
      await loadPayments();
      document.getElementById("pay-link")?.focus();
    },
  );

  main.append(
    h("h1", { tabindex: "-1" }, "Buy credits"),
    balanceLine,
    h("div", { class: "columns" }, h("section", { class: "card" }, form, checkout)),
    h(
      "section",
      { class: "card", "aria-labelledby": "payments-title" },
      h("h2", { id: "payments-title" }, "Your payments"),
      h(
        "div",
        { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Payments table" },
        h(
          "table",
          {},
          h("caption", { class: "hint" }, "Newest first"),
          h(
            "thead",
            {},
            h("tr", {}, h("th", { scope: "col" }, "Order"), h("th", { scope: "col", class: "num" }, "Credits"), h("th", { scope: "col" }, "Status")),
          ),
          rows,
        ),
      ),
    ),
  );
  await Promise.all([refreshBalance(), loadPayments()]);
}
