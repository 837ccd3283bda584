// The results of a pose generation: each pose with a background change, and the ZIP.
import { api } from "../api.js";
import { announce, credits, h, onSubmit } from "../dom.js";

const APP = "/api/apps/pose-generator";
const FORMATS = [
  ["original", "Original size (PNG)"],
  ["instagram_feed", "Instagram feed 1080 × 1080"],
  ["instagram_story", "Instagram story 1080 × 1920"],
  ["tiktok", "TikTok 1080 × 1920"],
  ["shopee_product", "Shopee product 1000 × 1000"],
  ["print_4x6", "Print 4 × 6 (PNG)"],
];

/** One generated pose: its picture and a form to change its background to a colour. */
export function resultItem(pose, { backgroundCost, changeBackground }) {
  const status = h("p", { class: "hint", "aria-live": "polite" }, pose.backgroundChanged ? "Background changed." : "");
  const colourId = `bg-${pose.id}`;
  const form = onSubmit(
    h(
      "form",
      { "aria-label": `Background of pose ${pose.position + 1}` },
      h("label", { for: colourId, class: "inline" }, "Colour", h("input", { type: "color", id: colourId, name: "backgroundColor", value: "#3a7bd5" })),
      h("button", { type: "submit", class: "secondary" }, `Change background (${credits(backgroundCost)})`),
    ),
    async (f) => changeBackground(pose, f.elements.namedItem("backgroundColor").value, status),
  );
  return h(
    "li",
    { "data-pose": pose.id },
    pose.imageUrl
      ? h("img", { src: pose.thumbnailUrl || pose.imageUrl, alt: `Generated pose ${pose.position + 1}`, width: 150, height: 200 })
      : h("p", {}, "This pose failed."),
    pose.imageUrl ? form : null,
    status,
  );
}

/** The ZIP download: pick export formats, fetch the archive with the token, save it. */
export function exportsForm(generationId) {
  const boxes = FORMATS.map(([name, label], i) =>
    h("label", { class: "inline", for: `fmt-${name}` }, h("input", { type: "checkbox", id: `fmt-${name}`, name: "formats", value: name, checked: i < 2 }), label),
  );
  return onSubmit(
    h(
      "form",
      { "aria-labelledby": "zip-title" },
      h("h3", { id: "zip-title" }, "Download"),
      h("fieldset", {}, h("legend", {}, "Export formats"), boxes),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Download ZIP")),
    ),
    async (form) => {
      const chosen = [...form.querySelectorAll("input[name=formats]:checked")].map((b) => b.value);
      const archive = await api(`${APP}/generations/${generationId}/export-zip`, {
        query: { formats: chosen.join(",") },
        blob: true,
      });
      const link = h("a", { href: URL.createObjectURL(archive), download: `poses-${generationId}.zip`, hidden: true });
      document.body.append(link);
      link.click();
      setTimeout(() => {
        URL.revokeObjectURL(link.href);
        link.remove();
      }, 1000);
      announce(`ZIP of ${chosen.length} format${chosen.length === 1 ? "" : "s"} downloaded (${Math.round(archive.size / 1024)} KB).`);
    },
  );
}
