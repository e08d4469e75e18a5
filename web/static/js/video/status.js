// The watch page when there is nothing to play: a private or missing video (the API answers
// both with 404, on purpose), one still uploading or processing (its progress, refreshed until
// it is ready), or one whose processing failed (and why).
import { api } from "../api.js";
import { currentSession } from "../session.js";
import { el } from "../ui.js";
import { signInHref } from "./account.js";

const POLL_MS = 2000;

const box = document.getElementById("video-message");
const title = document.getElementById("message-title");
const text = document.getElementById("message-text");
const detail = document.getElementById("message-detail");
const progress = document.getElementById("message-progress");

function showMessage(heading, ...body) {
  document.getElementById("video-loading").hidden = true;
  document.getElementById("watch").hidden = true;
  document.title = `${heading} · Tributary`;
  title.textContent = heading;
  text.replaceChildren(...body);
  detail.textContent = "";
  progress.hidden = true;
  box.hidden = false;
}

export function showPrivate() {
  const signedIn = Boolean(currentSession());
  showMessage("This video is private or does not exist",
    "Check the link. ",
    signedIn ? "A private video plays only for the account it belongs to." : "If it is your video, ",
    signedIn ? "" : el("a", { href: signInHref() }, "sign in"),
    signedIn ? "" : " to watch it.");
}

export function showFailed(reason) {
  showMessage("This video could not be processed",
    "Its upload did not become a playable video. The creator can upload it again.");
  detail.textContent = reason ? `Reason: ${reason}` : "";
}

export function showUnavailable(error) {
  showMessage("The video cannot be loaded right now", error.message || "Try again in a moment.");
}

function showProgress(state) {
  const uploading = state.status === "uploading";
  showMessage(uploading ? "This video is still uploading" : "This video is still processing",
    uploading
      ? "It plays once its upload finishes and it has been processed."
      : "It plays here as soon as it is ready; this page refreshes by itself.");
  progress.hidden = uploading;
  progress.value = state.progress_percent;
  progress.textContent = `${state.progress_percent} %`;
  const eta = state.eta ? `, ready around ${new Date(state.eta).toLocaleTimeString()}` : "";
  detail.textContent = uploading ? "" : `${state.progress_percent} % done${eta}`;
}

/** The status of a video that is not ready (GET …/status), showing its progress and asking
 * again until processing ends: "ready", "failed" (with failure_reason) or "gone". */
export async function waitUntilReady(videoId) {
  for (;;) {
    try {
      const state = await api("GET", `/videos/${videoId}/status`);
      if (state.status !== "uploading" && state.status !== "processing") return state;
      showProgress(state);
    } catch (error) {
      if (error.status === 404) return { status: "gone" };
      // A network hiccup: keep the last progress on screen and ask again.
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
