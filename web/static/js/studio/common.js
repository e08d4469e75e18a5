// What the studio's pages share: who may use them (a signed-in account with a channel), a
// video's processing status as text and a progress bar kept up to date by polling, and a
// confirmation dialog for actions that cannot be undone.
import { api, describe } from "../api.js";
import { currentSession } from "../session.js";
import { el } from "../ui.js";

const POLL_MS = 2000;

function messagePage(title, ...body) {
  return el("section", { class: "message-page" }, el("h1", {}, title), ...body);
}

/**
 * The signed-in creator ({user, channel} from GET /me), or null after `gate` has been filled
 * with why the studio cannot be used: nobody signed in, an account without a channel, an error.
 */
export async function creator(gate) {
  const next = encodeURIComponent(location.pathname + location.search);
  const signIn = messagePage("Creator studio",
    el("p", {}, "Sign in to manage your live streams and videos."),
    el("p", {}, el("a", { class: "button", href: `/signin?next=${next}` }, "Sign in"), " ",
      el("a", { class: "button secondary", href: `/signup?next=${next}` }, "Create an account")));
  if (!currentSession()) {
    gate.replaceChildren(signIn);
    return null;
  }
  let me;
  try {
    me = await api("GET", "/me");
  } catch (error) {
    gate.replaceChildren(error.status === 401 ? signIn
      : messagePage("The studio could not load", el("p", {}, describe(error))));
    return null;
  }
  if (!me.channel) {
    gate.replaceChildren(messagePage("You need a creator account",
      el("p", {}, `Your account @${me.user.username} is a viewer account: it has no channel, and `
        + "live streams and videos belong to a channel."),
      el("p", {}, "A channel is made only when an account is created: an existing account cannot "
        + "be given one. To upload videos and go live, sign out, then sign up again (with another "
        + "e-mail address) and tick \u201cI want to create: make me a channel\u201d."),
      el("p", {}, el("a", { class: "button", href: `/signup?next=${next}` }, "Sign up as a creator"))));
    return null;
  }
  gate.replaceChildren();
  return me;
}

/** "about 2 min left" from an ISO time, or "" when there is no estimate. */
function timeLeft(eta) {
  if (!eta) return "";
  const seconds = Math.round((Date.parse(eta) - Date.now()) / 1000);
  if (seconds <= 5) return "almost done";
  if (seconds < 90) return `about ${seconds} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

const LABELS = { uploading: "Upload not finished", processing: "Processing", ready: "Ready", failed: "Failed" };

/**
 * A video's status as an element: a label, and a progress bar with its estimate while
 * processing, or the failure reason. `update(status)` takes GET /videos/{id}/status (or a
 * video, whose fields have the same names).
 */
export function statusView() {
  const label = el("span", { class: "status-label" });
  const bar = el("progress", { max: 100, value: 0, hidden: true, "aria-label": "Processing progress" });
  const detail = el("span", { class: "status-detail" });
  const node = el("div", { class: "video-status" }, label, bar, detail);
  const update = (status) => {
    node.dataset.status = status.status;
    label.textContent = LABELS[status.status] || status.status;
    const processing = status.status === "processing";
    bar.hidden = !processing;
    if (processing && status.progress_percent !== undefined) {
      bar.value = status.progress_percent;
      detail.textContent = [`${status.progress_percent}%`, timeLeft(status.eta)].filter(Boolean).join(" · ");
    } else if (status.status === "failed") {
      detail.textContent = status.failure_reason || "";
    } else {
      detail.textContent = "";
    }
  };
  return { node, update };
}

/**
 * Poll GET /videos/{id}/status every few seconds, calling `onStatus` each time, until the
 * video is ready or failed (or `stop()` is called). A failed poll is tried again later.
 */
export function watchStatus(videoId, onStatus) {
  let timer = null;
  let stopped = false;
  const poll = async () => {
    try {
      const status = await api("GET", `/videos/${videoId}/status`);
      if (stopped) return;
      onStatus(status);
      if (status.status === "ready" || status.status === "failed") return;
    } catch (error) {
      if (error.status === 404) return; // deleted meanwhile
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** A modal question; resolves true if the person chose `action`, false if they cancelled. */
export function confirmAction(question, explanation, action) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "confirm", "aria-labelledby": "confirm-question" },
      el("h2", { id: "confirm-question" }, question),
      el("p", {}, explanation),
      el("form", { method: "dialog", class: "actions" },
        el("button", { type: "submit", value: "cancel", class: "secondary", autofocus: true }, "Cancel"),
        el("button", { type: "submit", value: "confirm", class: "danger" }, action)));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
