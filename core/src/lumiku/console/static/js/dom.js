// Small DOM helpers: build elements, announce, show errors in words, handle form submits.
import { ApiError } from "./api.js";

/** Build an element: h("p", {class: "x"}, "text", child). Strings are text, never HTML. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `element`. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

const notice = () => document.getElementById("notice");
const errorBox = () => document.getElementById("error");

/** Say something in the polite status region. */
export function announce(message) {
  errorBox().textContent = "";
  notice().textContent = message;
}

/** Show an error as its message (an ApiError carries the server's sentence). */
export function showError(error) {
  notice().textContent = "";
  errorBox().textContent = messageOf(error);
}

export function clearMessages() {
  notice().textContent = "";
  errorBox().textContent = "";
}

export function messageOf(error) {
  if (error instanceof ApiError) return error.message;
  console.error(error);
  return "Something went wrong in the page. Reload it and try again.";
}

let fieldIds = 0;

/** A labelled input: field("Email", {name: "email", type: "email", required: true}). */
export function field(label, attrs = {}, hint) {
  const { tag = "input", options: choices = [], ...rest } = attrs;
  const id = rest.id || `f${++fieldIds}`;
  const control = h(tag, { ...rest, id }, choices);
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("p", { class: "hint", id: hintId }, hint) : null, control);
}

/** A select's options from [value, text] pairs. */
export function options(pairs, selected) {
  return pairs.map(([value, text]) => h("option", { value, selected: value === selected }, text));
}

/**
 * Run `action(form)` on submit with the submit button disabled; show an ApiError's
 * message (and mark the fields it names) instead of raw JSON.
 */
export function onSubmit(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
    for (const note of form.querySelectorAll(".field-error")) note.remove();
    buttons.forEach((b) => (b.disabled = true));
    form.setAttribute("aria-busy", "true");
    try {
      await action(form);
    } catch (error) {
      markFields(form, error);
      showError(error);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}

function markFields(form, error) {
  if (!(error instanceof ApiError)) return;
  for (const [name, reason] of Object.entries(error.fields || {})) {
    const control = form.elements.namedItem(name);
    if (!(control instanceof HTMLElement) || !control.id) continue;
    control.setAttribute("aria-invalid", "true");
    const note = h("span", { class: "field-error", id: `${control.id}-error` }, `${reason}`);
    control.setAttribute("aria-describedby", `${control.id}-error`);
    control.insertAdjacentElement("afterend", note);
  }
}

/** Values of a form as an object; empty strings left out. */
export function values(form) {
  const data = {};
  for (const [name, value] of new FormData(form).entries()) {
    if (typeof value === "string" && value.trim() === "") continue;
    data[name] = typeof value === "string" ? value.trim() : value;
  }
  return data;
}

export function badge(value, kind = "state") {
  return h("span", { class: `badge ${kind}-${value}` }, value.replaceAll("_", " "));
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

export function credits(n) {
  return `${n} credit${n === 1 || n === -1 ? "" : "s"}`;
}

/** Wait `ms` milliseconds. */
export function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
