// Sign-in and sign-up (one module for both forms): the API's refusals in words next to the
// form and its fields, the session saved, and the way back to where the visitor came from
// (?next=, only a path on this site, so a crafted link cannot send someone elsewhere).
import { api, describe } from "./api.js";
import { clearSession, saveSession } from "./session.js";

const FIELD_WORDS = {
  email: "Enter an e-mail address, like name@example.org.",
  username: "Use 3 to 30 letters, digits or underscores (no spaces).",
  display_name: "Use at most 100 characters, on one line.",
  password: "Use at least 8 characters (and at most 256).",
};
const CODE_WORDS = {
  invalid_credentials: "Wrong e-mail address or password.",
  account_disabled: "This account is disabled.",
  account_exists: "An account with this e-mail address or user name already exists: sign in, or choose another.",
  handle_taken: "A channel already has this user name as its address: choose another user name.",
};

const ACCOUNT_PAGES = new Set(["/signin", "/signup"]);

/** ?next= when it is a path on this site ("/…"; not "//host", "/\host" or a full URL) other
 * than these forms, else "/". */
function safeNext(raw) {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/";
  const url = new URL(raw, location.origin);
  if (url.origin !== location.origin || ACCOUNT_PAGES.has(url.pathname)) return "/";
  return url.pathname + url.search + url.hash;
}

const form = document.querySelector(".account-form");
const signingUp = form.id === "signup";
const next = safeNext(new URLSearchParams(location.search).get("next"));
const formError = document.getElementById("form-error");
const submit = form.querySelector("button[type=submit]");

if (next !== "/") {
  const other = document.getElementById("other-way");
  other.href = `${other.pathname}?next=${encodeURIComponent(next)}`;
}

function clearErrors() {
  formError.hidden = true;
  formError.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const message of form.querySelectorAll(".field-error")) {
    message.hidden = true;
    message.textContent = "";
  }
}

/** Shows a refusal: next to each field the API named, else above the form; focuses it. */
function showError(error) {
  const fields = Array.isArray(error.detail)
    ? error.detail.map((problem) => problem.loc?.at(-1)).filter((name) => form.elements[name])
    : [];
  for (const name of fields) {
    const input = form.elements[name];
    const message = document.getElementById(`${name}-error`);
    input.setAttribute("aria-invalid", "true");
    message.textContent = input.value ? FIELD_WORDS[name] : "Fill this in.";
    message.hidden = false;
  }
  if (fields.length) {
    form.elements[fields[0]].focus();
    return;
  }
  const verb = signingUp ? "create the account" : "sign in";
  formError.textContent = CODE_WORDS[error.code] || `Could not ${verb}: ${describe(error)}.`;
  formError.hidden = false;
  formError.focus();
}

async function signIn() {
  const tokens = await api("POST", "/auth/login", {
    json: { email: form.elements.email.value, password: form.elements.password.value },
  });
  saveSession(tokens);
  try {
    saveSession(tokens, await api("GET", "/me"));
  } catch (error) {
    clearSession();
    throw error;
  }
}

async function signUp() {
  const registered = await api("POST", "/auth/register", {
    json: {
      email: form.elements.email.value,
      username: form.elements.username.value,
      display_name: form.elements.display_name.value,
      password: form.elements.password.value,
      creator: form.elements.creator.checked,
    },
  });
  saveSession(registered.tokens, registered);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  submit.disabled = true;
  clearSession(); // whoever was signed in here is replaced (and a stale token is not sent)
  try {
    await (signingUp ? signUp() : signIn());
  } catch (error) {
    showError(error);
    submit.disabled = false;
    return;
  }
  location.assign(next);
});
