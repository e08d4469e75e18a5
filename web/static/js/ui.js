// Small DOM helpers shared by every page. Text from users and the API is always set as text
// (textContent, never innerHTML), so a title or a chat message can never become markup.

/** An element: el("a", {href: "/", class: "x"}, "text", child, ...). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A notice at the bottom of the screen for a few seconds (errors stay until dismissed). */
export function notify(message, { error = false } = {}) {
  const box = document.getElementById("notices");
  const notice = el("p", { class: error ? "notice error" : "notice" }, message,
    el("button", { type: "button", "aria-label": "Dismiss", onclick: () => notice.remove() }, "×"));
  box.append(notice);
  if (!error) setTimeout(() => notice.remove(), 5000);
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

export function ago(iso) {
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  const steps = [[31536000, "year"], [2592000, "month"], [86400, "day"], [3600, "hour"], [60, "minute"]];
  for (const [size, unit] of steps) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${unit}${n > 1 ? "s" : ""} ago`;
  }
  return "just now";
}

export function count(n, unit) {
  const text = n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}K` : String(n);
  return `${text} ${unit}${n === 1 ? "" : "s"}`;
}
