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
    ? h("a", { href: payment.paymentUrl, target: "_blank", rel: "noopener" }, "Pay", h("span", { class: "hint" }, " (opens a new tab)"))
    : "";
  return h(
    "tr",
    { "data-order": payment.merchantOrderId },
    h("td", {}, when(payment.createdAt)),
    h("td", {}, h("code", {}, payment.merchantOrderId)),
    h("td", { class: "num" }, payment.credits),
    h("td", { class: "num" }, rupiah(payment.amount)),
    h("td", {}, badge(payment.status, "status")),
    h("td", {}, pay),
  );
}

export async function buy(main) {
  const { packages } = await api(`${APP}/packages`);
  const checkout = h("div", { "aria-live": "polite" });
  const rows = h("tbody", {});
  const balanceLine = h("p", { id: "buy-balance" });

  async function loadPayments() {
    const page = await api(APP, { query: { limit: 10 } });
    fill(rows, page.payments.length ? page.payments.map(paymentRow) : h("tr", {}, h("td", { colspan: 6 }, "No payments yet.")));
  }

  let before = null;
  onBalance((balance) => {
    if (before !== null && balance.balance > before) {
      announce(`Payment received: your balance is now ${credits(balance.balance)}.`);
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
          h("thead", {}, h("tr", {}, ["Created", "Order", "Credits", "Amount", "Status", "Payment page"].map((t) => h("th", { scope: "col" }, t)))),
          rows,
        ),
      ),
    ),
  );
  await Promise.all([refreshBalance(), loadPayments()]);
}
