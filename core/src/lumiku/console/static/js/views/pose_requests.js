// Ask for a pose the library lacks, and see what the admins made of your requests.
import { api } from "../api.js";
import { announce, badge, field, fill, h, onSubmit, values, when } from "../dom.js";

const APP = "/api/apps/pose-generator";

export function poseRequests() {
  const list = h("ul", { class: "plain", "aria-label": "Your pose requests" });

  async function load() {
    const page = await api(`${APP}/requests`, { query: { limit: 20 } });
    fill(
      list,
      page.requests.length
        ? page.requests.map((r) =>
            h(
              "li",
              {},
              h("strong", {}, r.poseName),
              " ",
              badge(r.status, "status"),
              h("span", { class: "hint" }, ` · ${when(r.createdAt)}`),
              r.adminNotes ? h("p", { class: "hint" }, `Admin: ${r.adminNotes}`) : null,
            ),
          )
        : h("li", {}, "You have not asked for a pose yet."),
    );
  }

  const form = onSubmit(
    h(
      "form",
      { "aria-labelledby": "ask-pose-title" },
      h("h2", { id: "ask-pose-title" }, "Ask for a pose"),
      h("p", { class: "hint" }, "Missing a pose? Describe it; an admin reviews every request."),
      field("Pose name", { name: "poseName", required: true, maxlength: 100 }),
      field("Description", { name: "description", tag: "textarea", rows: 2, required: true, maxlength: 500 }),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Send request")),
    ),
    async (f) => {
      const sent = await api(`${APP}/requests`, { method: "POST", json: values(f), idempotent: true });
      f.reset();
      await load();
      announce(`Request for "${sent.poseName}" sent.`);
    },
  );
  const section = h("section", { class: "card" }, form, h("h3", {}, "Your requests"), list);
  return { section, load };
}
