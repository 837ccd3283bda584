// Admins: pose requests to review, credit grants, reconciliation findings.
import { api, ApiError } from "../api.js";
import { announce, badge, credits, field, fill, h, onSubmit, options, showError, values, when } from "../dom.js";

const REQUESTS = "/api/apps/pose-generator/admin/requests";

function requestRow(request, reload) {
  const notes = h("input", { id: `notes-${request.id}`, name: "notes", maxlength: 1000 });
  const open = ["pending", "approved", "in_progress"].includes(request.status);
  const act = async (path, json) => {
    try {
      await api(`${REQUESTS}/${request.id}/${path}`, { method: "POST", json });
      await reload();
      announce(`Request "${request.poseName}" ${path === "approve" ? "approved" : "rejected"}.`);
    } catch (error) {
      showError(error);
    }
  };
  return h(
    "tr",
    { "data-request": request.id },
    h("td", { "data-label": "Sent" }, when(request.createdAt)),
    h("td", { "data-label": "Pose" }, h("strong", {}, request.poseName), h("br"), request.description, request.category ? h("span", { class: "hint" }, ` (${request.category})`) : null),
    h("td", { "data-label": "User" }, h("code", { class: "wrap" }, request.userId)),
    h("td", { "data-label": "Status" }, badge(request.status, "status"), request.adminNotes ? h("p", { class: "hint" }, request.adminNotes) : null),
    h(
      "td",
      { "data-label": "Review" },
      open
        ? h(
            "div",
            { class: "actions" },
            request.status === "pending" ? h("button", { type: "button", onclick: () => act("approve") }, "Approve") : null,
            h("label", { for: notes.id }, "Reason to reject"), notes,
            h("button", { type: "button", class: "secondary", onclick: () => act("reject", { notes: notes.value }) }, "Reject"),
          )
        : "—",
    ),
  );
}

function findingRow(finding) {
  return h(
    "tr",
    {},
    h("td", { "data-label": "Found" }, when(finding.createdAt)),
    h("td", { "data-label": "Check" }, finding.source, " / ", finding.kind.replaceAll("_", " ")),
    h("td", { "data-label": "User" }, h("code", { class: "wrap" }, finding.userId || "—")),
    h("td", { class: "num", "data-label": "Expected" }, finding.expected),
    h("td", { class: "num", "data-label": "Actual" }, finding.actual),
    h("td", { class: "num", "data-label": "Difference" }, finding.difference),
    h("td", { "data-label": "Detail" }, finding.detail),
  );
}

function table(caption, headings, body) {
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
    h("table", { class: "stack" }, h("caption", { class: "hint" }, caption), h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))), body),
  );
}

export async function admin(main) {
  const requestRows = h("tbody", {});
  const status = h("select", { id: "request-status" }, options([["pending", "Pending"], ["approved", "Approved"], ["in_progress", "In progress"], ["", "All"]], "pending"));
  async function loadRequests() {
    try {
      const page = await api(REQUESTS, { query: { status: status.value, limit: 50 } });
      fill(requestRows, page.requests.length ? page.requests.map((r) => requestRow(r, loadRequests)) : h("tr", {}, h("td", { colspan: 5 }, "No requests.")));
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
      fill(requestRows, h("tr", {}, h("td", { colspan: 5 }, "Pose Generator is not running.")));
    }
  }
  status.addEventListener("change", () => loadRequests().catch(showError));

  const grant = onSubmit(
    h(
      "form",
      { "aria-labelledby": "grant-title" },
      h("h2", { id: "grant-title" }, "Grant credits"),
      field("User id", { name: "userId", required: true, maxlength: 36 }, "Shown on requests and findings."),
      field("Credits", { name: "amount", type: "number", min: 1, max: 1000000, required: true }),
      field("Reason", { name: "reason", required: true, maxlength: 200 }, "The user sees it in their history."),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Grant")),
    ),
    async (form) => {
      const body = values(form);
      const granted = await api("/api/admin/credits/grant", {
        method: "POST",
        json: { ...body, amount: Number(body.amount) },
        idempotent: true,
      });
      form.reset();
      announce(`Granted ${credits(granted.entry.amount)}; the user's balance is ${credits(granted.balance.balance)}.`);
    },
  );

  const findingRows = h("tbody", {});
  const moreFindings = h("button", { type: "button", class: "secondary", hidden: true }, "Show older findings");
  let cursor = null;
  async function loadFindings() {
    const page = await api("/api/admin/credits/findings", { query: { limit: 20, cursor } });
    findingRows.append(...page.findings.map(findingRow));
    if (!findingRows.children.length) findingRows.append(h("tr", {}, h("td", { colspan: 7 }, "No findings: every account agrees with its entries.")));
    cursor = page.nextCursor;
    moreFindings.hidden = !cursor;
  }
  moreFindings.addEventListener("click", () => loadFindings().catch(showError));

  main.append(
    h("h1", { tabindex: "-1" }, "Admin"),
    h(
      "section",
      { class: "card", "aria-labelledby": "requests-title" },
      h("h2", { id: "requests-title" }, "Pose requests"),
      h("div", { class: "field" }, h("label", { for: "request-status" }, "Show"), status),
      table("Requests users sent for poses the library lacks", ["Sent", "Pose", "User", "Status", "Review"], requestRows),
    ),
    h("section", { class: "card" }, grant),
    h(
      "section",
      { class: "card", "aria-labelledby": "findings-title" },
      h("h2", { id: "findings-title" }, "Reconciliation findings"),
      table("What the periodic reconciliation found, newest first", ["Found", "Check", "User", "Expected", "Actual", "Difference", "Detail"], findingRows),
      h("div", { class: "actions" }, moreFindings),
    ),
  );
  await Promise.all([loadRequests(), loadFindings()]);
}
