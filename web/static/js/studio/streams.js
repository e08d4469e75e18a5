// The studio's live streams: create one, and for each the addresses an encoder needs (RTMP URL,
// stream key, WHIP URL), the key's reveal/copy/rotate, "go live from this browser" and the live
// page. The API shows a key's secret only when it is made (stream created, key rotated), so a
// secret lives in this page's memory alone: after a reload it is gone, and rotating makes a new one.
import { api, describe } from "../api.js";
import { ago, el, notify } from "../ui.js";
import { confirmAction } from "./common.js";

const secrets = new Map(); // key id → the key, for keys made while this page is open

function rememberNewKey(created) {
  secrets.set(created.key.id, created.stream_key);
}

/** Copy text: the clipboard API where the page may use it, else the old selection way. */
async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    notify(`${what} copied.`);
    return;
  } catch {
    // No clipboard API (an insecure origin) or no permission: fall back below.
  }
  const scratch = el("textarea", { class: "copy-scratch", readonly: true, "aria-hidden": "true" });
  scratch.value = text;
  document.body.append(scratch);
  scratch.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  scratch.remove();
  notify(copied ? `${what} copied.`
    : `This browser would not copy: select the ${what.toLowerCase()} and press Ctrl+C.`, { error: !copied });
}

function field(label, value, { secret = false } = {}) {
  const input = el("input", {
    type: secret ? "password" : "text", readonly: true, value, spellcheck: "false",
    autocomplete: "off", "aria-label": label, class: "mono",
  });
  const buttons = [];
  if (secret) {
    const reveal = el("button", { type: "button", class: "secondary", "aria-pressed": "false",
      "aria-label": `Reveal ${label}` }, "Reveal");
    reveal.addEventListener("click", () => {
      const shown = input.type === "password";
      input.type = shown ? "text" : "password";
      reveal.textContent = shown ? "Hide" : "Reveal";
      reveal.setAttribute("aria-label", `${reveal.textContent} ${label}`);
      reveal.setAttribute("aria-pressed", String(shown));
    });
    buttons.push(reveal);
  }
  buttons.push(el("button", { type: "button", class: "secondary", "aria-label": `Copy ${label}`,
    onclick: () => copy(value, label) }, "Copy"));
  return el("div", { class: "copy-field" }, input, ...buttons);
}

function publishLink(stream, secret) {
  const href = `/publish?stream=${encodeURIComponent(stream.name)}`
    + (secret ? `#key=${encodeURIComponent(secret)}` : "");
  return el("a", { class: "button", href, target: "_blank", rel: "noopener" },
    "Go live from this browser", el("span", { class: "visually-hidden" }, " (opens in a new tab)"));
}

/** One key of a stream: its secret if this page has it, with reveal/copy, and rotate. */
function keyRow(stream, key, render) {
  const secret = secrets.get(key.id);
  const rotate = async () => {
    const sure = await confirmAction("Rotate this stream key?",
      "A new key replaces it: encoders and browsers using the current key are refused from their "
      + "next connection. The new key is shown once, here, until you leave this page.", "Rotate key");
    if (!sure) return;
    try {
      rememberNewKey(await api("POST", `/live-streams/${stream.name}/keys/${key.id}/rotate`));
      notify("New stream key made. Copy it now: it is shown only while this page is open.");
      await render();
    } catch (error) {
      notify(`Could not rotate the key: ${describe(error)}`, { error: true });
    }
  };
  const about = [key.label || null, `made ${ago(key.created_at)}`,
    key.last_used_at ? `last used ${ago(key.last_used_at)}` : "never used"].filter(Boolean).join(" · ");
  return el("div", { class: "stream-key", "data-key-id": key.id },
    secret
      ? field("Stream key", secret, { secret: true })
      : el("p", { class: "muted hidden-key" }, "Hidden: a key is shown only when it is made. "
        + "If you no longer have it, rotate it to get a new one."),
    el("div", { class: "key-actions" },
      el("span", { class: "muted" }, about),
      el("button", { type: "button", class: "secondary rotate", onclick: rotate }, "Rotate key")));
}

/** A stream's card; re-renders itself after a rotation. */
function streamCard(stream) {
  const card = el("article", { class: "stream panel", "data-stream": stream.name });
  const render = async () => {
    let keys;
    try {
      keys = await api("GET", `/live-streams/${stream.name}/keys`);
    } catch (error) {
      card.replaceChildren(el("p", { class: "error" }, `Could not load ${stream.name}'s keys: ${describe(error)}`));
      return;
    }
    const secret = keys.map((key) => secrets.get(key.id)).find(Boolean);
    card.replaceChildren(
      el("header", {},
        el("h3", {}, stream.title || stream.name, " ",
          stream.live ? el("span", { class: "badge" }, "LIVE") : null),
        el("span", { class: "muted" }, stream.name, stream.record ? " · recorded" : " · not recorded")),
      el("dl", { class: "endpoints" },
        el("dt", {}, "RTMP URL"),
        el("dd", {}, field("RTMP URL", stream.rtmp_url)),
        el("dt", {}, keys.length > 1 ? "Stream keys" : "Stream key"),
        el("dd", {}, keys.length ? keys.map((key) => keyRow(stream, key, render))
          : el("span", { class: "muted" }, "This stream has no key.")),
        el("dt", {}, "WHIP URL"),
        el("dd", {}, field("WHIP URL", stream.whip_url))),
      el("p", { class: "muted" }, "In OBS or another encoder, use the RTMP URL as the server and the "
        + "stream key as the key; WebRTC (WHIP) encoders take the WHIP URL and the key as bearer token."),
      el("p", { class: "stream-links" }, publishLink(stream, secret), " ",
        el("a", { class: "button secondary", href: `/watch/${stream.name}` }, "Live page")));
  };
  render();
  return card;
}

/** Fill `container` with the channel's streams and wire the create form. */
export async function showStreams(container, form) {
  const list = el("div", { class: "streams" });
  const show = (streams) => {
    container.replaceChildren(streams.length ? list
      : el("p", { class: "empty" }, "No live streams yet: create one to get an RTMP URL and a stream key."));
  };
  const streams = [];
  try {
    let cursor;
    do {
      const page = await api("GET", "/live-streams", { query: { limit: 100, cursor } });
      streams.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
  } catch (error) {
    container.replaceChildren(el("p", { class: "error" }, `Could not load your live streams: ${describe(error)}`));
    return;
  }
  list.replaceChildren(...streams.map(streamCard));
  show(streams);

  const error = form.querySelector(".form-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const created = await api("POST", "/live-streams",
        { json: { name: data.get("name").trim(), title: data.get("title").trim() } });
      rememberNewKey(created);
      streams.unshift(created.stream);
      list.prepend(streamCard(created.stream));
      show(streams);
      form.reset();
      notify("Stream created. Copy its key now: it is shown only while this page is open.");
    } catch (failure) {
      error.textContent = describe(failure);
    } finally {
      submit.disabled = false;
    }
  });
}
