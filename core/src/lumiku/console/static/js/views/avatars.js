// Avatar Creator: projects, upload a photo, generate from attributes, follow the job.
import { api } from "../api.js";
import { announce, credits, field, fill, h, onSubmit, options, pause, values } from "../dom.js";
import { connected } from "../realtime.js";
import { listen, onLeave, refreshBalance } from "../session.js";

const APP = "/api/apps/avatar-creator";
const NS = "/avatar-creator";
const TERMINAL = new Set(["completed", "failed"]);
const CHOICES = {
  gender: ["", "female", "male", "non-binary"],
  ageRange: ["", "18-24", "25-34", "35-44", "45-54", "55+"],
  hairColor: ["", "black", "brown", "blonde", "red", "grey"],
  style: ["", "professional", "casual", "artistic", "sporty"],
};
const LABELS = { gender: "Gender", ageRange: "Age range", hairColor: "Hair colour", style: "Style" };

function avatarItem(avatar) {
  return h(
    "li",
    { "data-avatar": avatar.id },
    h("img", { src: avatar.thumbnailUrl || avatar.imageUrl, alt: `Avatar ${avatar.name}`, width: 150, height: 200, loading: "lazy" }),
    h("p", {}, h("strong", {}, avatar.name)),
    h("p", { class: "hint" }, avatar.source === "upload" ? "Uploaded photo" : avatar.source.replaceAll("_", " ")),
  );
}

export async function avatars(main) {
  let alive = true;
  onLeave(() => (alive = false));
  const info = await api(`${APP}/info`);
  const cost = info.credits || {};
  const projectSelect = h("select", { id: "avatar-project", name: "project" });
  const gallery = h("ul", { class: "grid", "aria-live": "polite", "aria-label": "Avatars of the project" });
  const job = h("div", { class: "progress", "aria-live": "polite" });

  async function loadProjects(selectId) {
    const { projects } = await api(`${APP}/projects`, { query: { limit: 100 } });
    fill(projectSelect, options(projects.map((p) => [p.id, p.name]), selectId));
    if (selectId) projectSelect.value = selectId;
    for (const part of main.querySelectorAll("[data-needs-project]")) part.hidden = !projects.length;
    await loadAvatars();
  }

  async function loadAvatars() {
    if (!projectSelect.value) return fill(gallery);
    const page = await api(`${APP}/avatars`, { query: { projectId: projectSelect.value, limit: 50 } });
    fill(gallery, page.avatars.length ? page.avatars.map(avatarItem) : h("li", {}, "No avatars yet."));
  }

  projectSelect.addEventListener("change", () => loadAvatars().catch(() => {}));

  const newProject = onSubmit(
    h(
      "form",
      { "aria-labelledby": "new-project" },
      h("h2", { id: "new-project" }, "New project"),
      field("Project name", { name: "name", required: true, maxlength: 100 }),
      field("Description", { name: "description", maxlength: 500 }),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Create project")),
    ),
    async (form) => {
      const project = await api(`${APP}/projects`, { method: "POST", json: values(form), idempotent: true });
      form.reset();
      await loadProjects(project.id);
      announce(`Project ${project.name} created.`);
      projectSelect.focus();
    },
  );

  const upload = onSubmit(
    h(
      "form",
      { "aria-labelledby": "upload-title" },
      h("h2", { id: "upload-title" }, "Upload a photo"),
      h("p", { class: "hint" }, `JPEG, PNG or WebP, 256 to 4096 pixels a side. Costs ${credits(cost.uploadAvatar ?? 2)}.`),
      field("Avatar name", { name: "name", required: true, maxlength: 100 }),
      field("Photo", { name: "image", type: "file", accept: "image/jpeg,image/png,image/webp", required: true }),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Upload photo")),
    ),
    async (form) => {
      const result = await api(`${APP}/projects/${projectSelect.value}/avatars/upload`, {
        method: "POST",
        form: new FormData(form),
        idempotent: true,
      });
      form.reset();
      await Promise.all([loadAvatars(), refreshBalance()]);
      announce(`Uploaded ${result.avatar.name}: ${credits(result.creditUsed)} used, ${credits(result.creditBalance)} left.`);
    },
  );

  const attributes = Object.keys(CHOICES).map((name) =>
    field(LABELS[name], { tag: "select", name, options: options(CHOICES[name].map((v) => [v, v || "Any"])) }),
  );
  const generate = onSubmit(
    h(
      "form",
      { "aria-labelledby": "generate-title" },
      h("h2", { id: "generate-title" }, "Generate from attributes"),
      h("p", { class: "hint" }, `Costs ${credits(cost.generateAvatar ?? 10)}, held while the job runs and returned if it fails.`),
      field("Avatar name", { name: "name", required: true, maxlength: 100 }),
      field("Description", { name: "prompt", tag: "textarea", required: true, maxlength: 2000, rows: 2 }, "What the portrait should show."),
      h("fieldset", {}, h("legend", {}, "Attributes"), attributes),
      field("Size", { tag: "select", name: "size", options: options([["512", "512 × 512"], ["768", "768 × 768"], ["1024", "1024 × 1024"]]) }),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Generate avatar")),
    ),
    async (form) => {
      const body = values(form);
      const size = Number(body.size || 512);
      delete body.size;
      await connected(NS);
      const queued = await api(`${APP}/projects/${projectSelect.value}/avatars/generate`, {
        method: "POST",
        json: { ...body, width: size, height: size },
        idempotent: true,
      });
      announce(`Generation queued: ${credits(queued.creditUsed)} held.`);
      await refreshBalance();
      await follow(queued.generation);
    },
  );

  // The owner's generation events (generation:started, :progress, :completed, :failed).
  const ended = new Map(); // generationId -> resolve, or true when the end came first
  for (const name of ["completed", "failed"]) {
    listen(NS, `generation:${name}`, (data) => {
      const resolve = ended.get(data.generationId);
      if (typeof resolve === "function") resolve();
      else ended.set(data.generationId, true);
    });
  }
  function endOf(generationId) {
    if (ended.get(generationId) === true) return Promise.resolve();
    return new Promise((resolve) => ended.set(generationId, resolve));
  }

  async function follow(generation) {
    const progress = h("progress", { max: 1, "aria-label": "Avatar generation" }); // indeterminate
    const line = h("p", {}, `Generating ${generation.name}…`);
    fill(job, line, progress);
    // Events are best effort: a slow look at the status URL backs them up.
    // Once the event has come, the status URL is asked once a second (not in a tight loop)
    // until it says the same.
    let current = generation;
    let heard = false;
    const event = endOf(generation.id).then(() => (progress.dataset.source = "event"));
    while (alive && !TERMINAL.has(current.status)) {
      await (heard ? pause(1000) : Promise.race([event.then(() => (heard = true)), pause(5000)]));
      current = await api(`${APP}/generations/${generation.id}`);
    }
    ended.delete(generation.id);
    if (!alive) return;
    progress.value = 1;
    if (current.status === "completed" && current.avatar) {
      line.textContent = `${current.avatar.name} is ready.`;
      fill(
        job,
        line,
        progress,
        h("img", { class: "big-image", src: current.avatar.imageUrl, alt: `Generated avatar ${current.avatar.name}`, width: current.avatar.width, height: current.avatar.height }),
      );
      announce(`Avatar ${current.avatar.name} is ready.`);
    } else {
      const reason = current.error ? current.error.message : "The generation failed.";
      line.textContent = `${reason} The held credits were returned.`;
      line.className = "negative";
    }
    await Promise.all([loadAvatars(), refreshBalance()]);
  }

  main.append(
    h("h1", { tabindex: "-1" }, "Avatar Creator"),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        { class: "card", "aria-labelledby": "projects-title" },
        h("h2", { id: "projects-title" }, "Project"),
        h("div", { class: "field", "data-needs-project": true }, h("label", { for: "avatar-project" }, "Current project"), projectSelect),
      ),
      h("section", { class: "card" }, newProject),
    ),
    h(
      "div",
      { class: "columns", "data-needs-project": true },
      h("section", { class: "card" }, upload),
      h("section", { class: "card" }, generate, job),
    ),
    h("section", { class: "card", "aria-labelledby": "gallery-title", "data-needs-project": true }, h("h2", { id: "gallery-title" }, "Avatars"), gallery),
  );
  await loadProjects();
}
