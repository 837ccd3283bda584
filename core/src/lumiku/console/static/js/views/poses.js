// Pose Generator: a project, the library by category, a generation followed through the
// generation:* events of /pose-generator, results, a background change and the ZIP.
import { api, ApiError } from "../api.js";
import { announce, credits, field, fill, h, messageOf, onSubmit, options, showError, values } from "../dom.js";
import { connected } from "../realtime.js";
import { listen, onLeave, refreshBalance } from "../session.js";
import { poseRequests } from "./pose_requests.js";
import { exportsForm, resultItem } from "./pose_results.js";

const APP = "/api/apps/pose-generator";
const NS = "/pose-generator";
const PAGE = 12;

function flatten(categories, depth = 0) {
  return categories.flatMap((c) => [
    [c.slug, `${"— ".repeat(depth)}${c.name} (${c.poseCount})`],
    ...flatten(c.children || [], depth + 1),
  ]);
}

export async function poses(main) {
  const [info, tree] = await Promise.all([api(`${APP}/info`), api(`${APP}/categories`)]);
  const poseCost = info.credits.generatePose ?? 30;
  const backgroundCost = info.credits.backgroundChange ?? 10;
  const picked = new Set();
  const followers = new Map(); // generationId -> {progress, completed, failed} handlers
  const early = new Map(); // events of a generation that arrived before its 202 was read

  // -- realtime: one handler per event, dispatched by generationId --------------------------
  for (const name of ["started", "progress", "completed", "failed"]) {
    listen(NS, `generation:${name}`, (data) => {
      const follower = followers.get(data.generationId);
      if (follower) follower[name]?.(data);
      else early.set(data.generationId, [...(early.get(data.generationId) || []), [name, data]]);
    });
  }
  function follow(generationId, handlers) {
    followers.set(generationId, handlers);
    for (const [name, data] of early.get(generationId) || []) handlers[name]?.(data);
    early.delete(generationId);
  }
  onLeave(() => followers.clear());

  // -- project -----------------------------------------------------------------------------
  const projectSelect = h("select", { id: "pose-project", name: "project" });
  async function loadProjects(selectId) {
    const { projects } = await api(`${APP}/projects`, { query: { limit: 100 } });
    fill(projectSelect, options(projects.map((p) => [p.id, p.projectName]), selectId));
    if (selectId) projectSelect.value = selectId;
    for (const part of main.querySelectorAll("[data-needs-project]")) part.hidden = !projects.length;
  }
  let avatarChoices = [];
  try {
    avatarChoices = (await api("/api/apps/avatar-creator/avatars", { query: { limit: 100 } })).avatars;
  } catch {
    avatarChoices = []; // Avatar Creator is off: upload a photo instead
  }
  const sourceAvatar = field("Avatar from Avatar Creator", {
    tag: "select",
    name: "avatarId",
    options: options([["", "— upload a photo instead —"], ...avatarChoices.map((a) => [a.id, a.name])]),
  });
  const newProject = onSubmit(
    h(
      "form",
      { "aria-labelledby": "pose-new-project" },
      h("h2", { id: "pose-new-project" }, "New project"),
      field("Project name", { name: "projectName", required: true, maxlength: 100 }),
      sourceAvatar,
      field("Or a photo", { name: "photo", type: "file", accept: "image/jpeg,image/png,image/webp" }, "Used when no avatar is chosen."),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Create project")),
    ),
    async (form) => {
      const data = values(form);
      const body = { projectName: data.projectName };
      if (data.avatarId) {
        Object.assign(body, { avatarSource: "AVATAR_CREATOR", avatarId: data.avatarId });
      } else {
        const photo = form.elements.namedItem("photo").files[0];
        if (!photo) throw new ApiError("Choose an avatar, or a photo to upload.", { fields: { photo: "choose a photo" } });
        const upload = new FormData();
        upload.append("image", photo);
        const stored = await api(`${APP}/uploads`, { method: "POST", form: upload, idempotent: true });
        Object.assign(body, { avatarSource: "UPLOAD", avatarImageUrl: stored.imageUrl });
      }
      const project = await api(`${APP}/projects`, { method: "POST", json: body, idempotent: true });
      form.reset();
      await loadProjects(project.id);
      announce(`Project ${project.projectName} created.`);
    },
  );

  // -- library -----------------------------------------------------------------------------
  const category = h("select", { id: "pose-category", name: "category" }, options([["", "All categories"], ...flatten(tree.categories)]));
  const library = h("ul", { class: "grid", "aria-label": "Poses of the library" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more poses");
  const summary = h("p", { "aria-live": "polite", id: "pose-summary" });
  const generateButton = h("button", { type: "submit", disabled: true }, "Generate");
  let cursor = null;

  function updateSummary() {
    const n = picked.size;
    summary.textContent = n ? `${n} pose${n === 1 ? "" : "s"} picked: ${credits(n * poseCost)}.` : "No pose picked yet.";
    generateButton.disabled = n === 0;
    generateButton.textContent = n ? `Generate ${n} pose${n === 1 ? "" : "s"}` : "Generate";
  }

  function poseItem(pose) {
    const box = h("input", { type: "checkbox", value: pose.id, id: `pose-${pose.id}`, checked: picked.has(pose.id) });
    const item = h(
      "li",
      { class: picked.has(pose.id) ? "picked" : "" },
      h("img", { src: pose.thumbnailUrl, alt: "", width: 150, height: 200, loading: "lazy" }),
      h("label", { class: "pick", for: `pose-${pose.id}` }, box, h("span", {}, pose.name, h("span", { class: "hint" }, ` · ${pose.difficulty}`))),
    );
    box.addEventListener("change", () => {
      if (box.checked) picked.add(pose.id);
      else picked.delete(pose.id);
      item.classList.toggle("picked", box.checked);
      updateSummary();
    });
    return item;
  }

  async function loadLibrary(reset) {
    if (reset) {
      cursor = null;
      fill(library);
    }
    const page = await api(`${APP}/library`, { query: { category: category.value, limit: PAGE, cursor } });
    const items = page.poses.map(poseItem);
    library.append(...items);
    if (!reset) items[0]?.querySelector("input")?.focus(); // "Show more": on to the new poses
    cursor = page.nextCursor;
    more.hidden = !cursor;
  }
  category.addEventListener("change", () => loadLibrary(true).catch(showError));
  more.addEventListener("click", () => loadLibrary(false).catch(showError));

  // -- generation --------------------------------------------------------------------------
  const run = h("div", { class: "progress" });
  const results = h("ul", { class: "grid", "aria-label": "Generated poses" });
  const exportBox = h("div", {});
  const requests = poseRequests();

  async function showResults(generationId) {
    const page = await api(`${APP}/generations/${generationId}/results`, { query: { limit: 100 } });
    fill(results, page.poses.map((pose) => resultItem(pose, { backgroundCost, changeBackground })));
    fill(exportBox, exportsForm(generationId));
  }

  async function changeBackground(pose, colour, status) {
    await connected(NS);
    const queued = await api(`${APP}/poses/${pose.id}/background`, {
      method: "POST",
      json: { backgroundMode: "solid_color", backgroundColor: colour },
      idempotent: true,
    });
    status.textContent = `Changing the background (${credits(queued.creditCharged)} held)…`;
    refreshBalance().catch(() => {});
    follow(queued.generationId, {
      completed: async () => {
        await Promise.all([showResults(pose.generationId), refreshBalance()]);
        announce("Background changed.");
      },
      failed: (data) => {
        status.textContent = `${data.error?.message || "The background change failed."} The held credits were returned.`;
        refreshBalance().catch(() => {});
      },
    });
  }

  const generate = onSubmit(
    h(
      "form",
      { "aria-labelledby": "pose-generate-title" },
      h("h2", { id: "pose-generate-title" }, "Generate"),
      summary,
      h("div", { class: "actions" }, generateButton),
    ),
    async () => {
      await connected(NS);
      const queued = await api(`${APP}/generate`, {
        method: "POST",
        json: { projectId: projectSelect.value, generationType: "GALLERY_REFERENCE", selectedPoseIds: [...picked] },
        idempotent: true,
      });
      refreshBalance().catch(() => {});
      const bar = h("progress", { id: "pose-progress", max: 100, value: 0, "aria-labelledby": "pose-progress-label" });
      const label = h("p", { id: "pose-progress-label" }, `Generating ${queued.totalPosesExpected} poses: 0%`);
      const outcome = h("p", { "aria-live": "polite" });
      fill(run, label, bar, outcome);
      announce(`Generation started: ${credits(queued.creditCharged)} held.`);
      follow(queued.generationId, {
        progress: (data) => {
          bar.value = data.percentage;
          bar.dataset.source = "event";
          label.textContent = `Generating ${data.total} poses: ${data.percentage}% (${data.completed} done${data.failed ? `, ${data.failed} failed` : ""})`;
        },
        completed: async (data) => {
          bar.value = 100;
          outcome.textContent = `Done: ${data.completed} of ${data.total} poses, ${credits(data.creditsCharged)} charged.`;
          await Promise.all([showResults(queued.generationId), refreshBalance()]);
          announce("Generation complete.");
        },
        failed: (data) => {
          outcome.textContent = `${data.error?.message || "The generation failed."} Unused credits were returned.`;
          refreshBalance().catch(() => {});
        },
      });
    },
  );

  main.append(
    h("h1", { tabindex: "-1" }, "Pose Generator"),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        { class: "card", "aria-labelledby": "pose-project-title" },
        h("h2", { id: "pose-project-title" }, "Project"),
        h("div", { class: "field", "data-needs-project": true }, h("label", { for: "pose-project" }, "Current project"), projectSelect),
      ),
      h("section", { class: "card" }, newProject),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "library-title", "data-needs-project": true },
      h("h2", { id: "library-title" }, "Pose library"),
      h("p", { class: "hint" }, `Pick poses; each costs ${credits(poseCost)}.`),
      h("div", { class: "field" }, h("label", { for: "pose-category" }, "Category"), category),
      library,
      h("div", { class: "actions" }, more),
    ),
    h("section", { class: "card", "data-needs-project": true }, generate, run),
    h(
      "section",
      { class: "card", "aria-labelledby": "results-title", "data-needs-project": true },
      h("h2", { id: "results-title" }, "Results"),
      results,
      exportBox,
    ),
    requests.section,
  );
  updateSummary();
  await Promise.all([loadProjects(), requests.load()]);
  try {
    await loadLibrary(true);
  } catch (error) {
    showError(error);
    fill(library, h("li", {}, messageOf(error)));
  }
}
