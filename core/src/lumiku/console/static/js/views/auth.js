// Sign in or register.
import { api, setToken } from "../api.js";
import { announce, field, h, onSubmit, values } from "../dom.js";

export function signIn(main, { signedIn }) {
  const login = onSubmit(
    h(
      "form",
      { "aria-labelledby": "sign-in-title" },
      h("h2", { id: "sign-in-title" }, "Sign in"),
      field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
      field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")),
    ),
    async (form) => {
      const session = await api("/api/auth/login", { method: "POST", json: values(form) });
      setToken(session.token);
      announce(`Signed in as ${session.user.email}.`);
      await signedIn(session.user);
    },
  );
  const register = onSubmit(
    h(
      "form",
      { "aria-labelledby": "register-title" },
      h("h2", { id: "register-title" }, "Create an account"),
      field("Name", { name: "name", autocomplete: "name" }),
      field("Email", { name: "email", type: "email", autocomplete: "email", required: true }),
      field(
        "Password",
        { name: "password", type: "password", autocomplete: "new-password", required: true },
        "At least 12 characters; not a common password.",
      ),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Create account")),
    ),
    async (form) => {
      const session = await api("/api/auth/register", { method: "POST", json: values(form), idempotent: true });
      setToken(session.token);
      announce(`Welcome, ${session.user.name || session.user.email}: your account is ready.`);
      await signedIn(session.user);
    },
  );
  main.append(
    h("h1", { tabindex: "-1" }, "Welcome to Lumiku"),
    h("p", {}, "Sign in, or create an account to try the apps with your welcome credits."),
    h("div", { class: "columns" }, h("section", { class: "card" }, login), h("section", { class: "card" }, register)),
  );
}
