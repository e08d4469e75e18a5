// /studio/upload: a video file sent with tus-js-client (resumable: pause, resume, automatic
// retries, a Retry button, and continuing after a reload when the same file is chosen again),
// then the server's processing followed until the video is ready or has failed.
//
// The server's tus endpoint (vod/uploads/) takes the creator's bearer token on every request
// and the video's title, description and privacy in Upload-Metadata; it answers with the new
// video's id in Tributary-Video-Id. A token is refreshed before it expires, because a HEAD
// refused with 401 would make tus-js-client give up the upload it resumes and start another.
import { accessToken, ApiError, describe } from "../api.js";
import { el } from "../ui.js";
import { creator, statusView, watchStatus } from "./common.js";

const { tus } = window;
const ENDPOINT = new URL("/api/v1/uploads", location.href).href;
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
const SPEED_WINDOW_MS = 4000;
const REFRESH_BEFORE_MS = 60_000;

const $ = (id) => document.getElementById(id);
const form = $("upload-form");
const fields = $("video-fields");
const fileInput = $("video-file");
const formError = form.querySelector(".form-error");
const transfer = $("transfer");
const bar = $("upload-progress");
const numbers = $("upload-numbers");
const stateLine = $("upload-state");
const buttons = { pause: $("pause"), resume: $("resume"), retry: $("retry") };

let upload = null;
let videoId = null;
let refreshNext = false; // a request was refused with 401: refresh the token before the next
let refreshedFor401 = false; // ...once, until a request succeeds again
let samples = []; // [time, bytes sent] over the last few seconds, for the speed

function size(bytes) {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

function expiresSoon(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const { exp } = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    return exp * 1000 - Date.now() < REFRESH_BEFORE_MS;
  } catch {
    return false; // not a token we can read: the server decides
  }
}

async function authorize(request) {
  let token = await accessToken();
  if (token && (refreshNext || expiresSoon(token))) token = await accessToken({ fresh: true });
  refreshNext = false;
  if (token) request.setHeader("Authorization", `Bearer ${token}`);
}

function statusOf(error) {
  return error.originalResponse ? error.originalResponse.getStatus() : 0;
}

function shouldRetry(error) {
  const status = statusOf(error);
  if (status === 401) {
    if (refreshedFor401) return false;
    refreshedFor401 = refreshNext = true;
    return true;
  }
  if (navigator.onLine === false) return false;
  return status === 0 || status >= 500 || [408, 409, 423, 429].includes(status);
}

function describeTusError(error) {
  const response = error.originalResponse;
  if (!response) {
    return navigator.onLine === false ? "this browser is offline" : "the connection to the server was lost";
  }
  const status = response.getStatus();
  if (status === 401) return "your session has ended: sign in again, then choose the same file to continue";
  try {
    const body = JSON.parse(response.getBody());
    return describe(new ApiError(status, body.error, body.detail));
  } catch {
    return `the server answered ${status}`;
  }
}

function show(state, text) {
  transfer.dataset.state = state;
  stateLine.textContent = text;
  buttons.pause.hidden = state !== "uploading";
  buttons.resume.hidden = state !== "paused";
  buttons.retry.hidden = state !== "failed";
}

function progress(sent, total) {
  const now = performance.now();
  if (samples.length && sent < samples[samples.length - 1][1]) samples = []; // a retry went back
  samples.push([now, sent]);
  while (samples.length > 2 && now - samples[0][0] > SPEED_WINDOW_MS) samples.shift();
  const [since, from] = samples[0];
  const speed = now - since > 500 ? ((sent - from) * 1000) / (now - since) : null;
  const percent = total ? Math.floor((sent / total) * 100) : 0;
  bar.value = percent;
  numbers.textContent = [`${percent}%`, `${size(sent)} of ${size(total)}`,
    speed !== null && sent < total ? `${size(speed)}/s` : null].filter(Boolean).join(" · ");
}

function metadata(file) {
  const data = new FormData(form);
  const fieldsOut = { title: data.get("title").trim(), description: data.get("description"),
    privacy: data.get("privacy") };
  // Empty values are left out: the server holds filename and filetype to at least one character.
  if (file.name) fieldsOut.filename = file.name.slice(0, 255);
  if (file.type) fieldsOut.filetype = file.type.slice(0, 255);
  return fieldsOut;
}

function makeUpload(file, meta = {}) {
  return new tus.Upload(file, {
    endpoint: ENDPOINT,
    metadata: meta,
    retryDelays: RETRY_DELAYS,
    removeFingerprintOnSuccess: true,
    onBeforeRequest: authorize,
    onAfterResponse: (request, response) => {
      const id = response.getHeader("Tributary-Video-Id");
      if (id) videoId = id;
      if (response.getStatus() < 400) refreshedFor401 = false;
    },
    onShouldRetry: shouldRetry,
    onProgress: progress,
    onError: failed,
    onSuccess: processing,
  });
}

function failed(error) {
  const status = statusOf(error);
  if (!upload.url && status >= 400 && status < 500 && status !== 401) {
    // Refused before it began (too large, a detail the server would not take): trying the
    // same again cannot help, so back to the form.
    transfer.hidden = true;
    form.hidden = false;
    formError.textContent = `The upload was refused: ${describeTusError(error)}.`;
    return;
  }
  show("failed", `The upload stopped: ${describeTusError(error)}.`);
}

function processing() {
  show("done", "Uploaded.");
  bar.value = 100;
  const section = $("processing");
  const status = statusView();
  const result = $("processing-result");
  $("processing-status").replaceChildren(status.node);
  section.hidden = false;
  if (!videoId) {
    result.replaceChildren("Follow its processing in ", el("a", { href: "/studio" }, "the studio"), ".");
    return;
  }
  const links = el("span", {}, el("a", { href: `/studio/videos/${videoId}` }, "Edit its details"), " · ",
    el("a", { href: "/studio/upload" }, "Upload another video"));
  watchStatus(videoId, (now) => {
    // "uploading" for a moment more: the server is still handing the file over to processing.
    status.update(now.status === "uploading" ? { ...now, status: "processing", progress_percent: 0 } : now);
    if (now.status === "ready") {
      result.replaceChildren("Your video is ready. ", el("a", { href: `/v/${videoId}` }, "Watch it"), " · ",
        links);
    } else if (now.status === "failed") {
      result.replaceChildren("The file could not be made into a video. Check it plays on your computer, "
        + "then upload it again. ", links);
    } else {
      result.replaceChildren("You may leave this page: processing goes on, and the studio shows how it is doing. ",
        links);
    }
  });
}

async function previousFor(file) {
  const previous = await makeUpload(file).findPreviousUploads();
  return previous.find((entry) => entry.uploadUrl && entry.uploadUrl.startsWith(ENDPOINT)) || null;
}

/** A partly uploaded file goes on with the details given then: show them, not editable. */
async function fileChosen() {
  const file = fileInput.files[0];
  const note = $("resume-note");
  fields.disabled = false;
  note.hidden = true;
  if (!file) return;
  const previous = await previousFor(file);
  if (previous) {
    form.elements.title.value = previous.metadata.title || "";
    form.elements.description.value = previous.metadata.description || "";
    form.elements.privacy.value = previous.metadata.privacy || "private";
    fields.disabled = true;
    note.hidden = false;
  } else if (!form.elements.title.value.trim()) {
    form.elements.title.value = file.name.replace(/\.[^.]+$/, "").slice(0, 200);
  }
}

async function start(event) {
  event.preventDefault();
  formError.textContent = "";
  const file = fileInput.files[0];
  if (!file) {
    formError.textContent = "Choose a video file first.";
    return;
  }
  if (!file.size) {
    formError.textContent = "This file is empty: it is not a video.";
    return;
  }
  if (!fields.disabled && !form.elements.title.value.trim()) {
    formError.textContent = "Give the video a title.";
    return;
  }
  const previous = await previousFor(file);
  upload = makeUpload(file, previous ? previous.metadata : metadata(file));
  if (previous) upload.resumeFromPreviousUpload(previous);
  form.hidden = true;
  $("unfinished").hidden = true;
  $("file-name").textContent = file.name;
  transfer.hidden = false;
  samples = [];
  show("uploading", previous ? "Continuing your earlier upload…" : "Uploading…");
  progress(0, file.size);
  upload.start();
}

function goOn(text) {
  samples = [];
  show("uploading", text);
  upload.start();
}

/** Uploads this browser started and did not finish: say how to continue them, or discard them. */
async function listUnfinished() {
  const storage = tus.defaultOptions.urlStorage;
  const entries = (await storage.findAllUploads())
    .filter((entry) => entry.uploadUrl && entry.uploadUrl.startsWith(ENDPOINT));
  const box = $("unfinished");
  const list = box.querySelector("ul");
  const item = (entry) => {
    const name = entry.metadata.filename ? ` (${entry.metadata.filename}, ${size(entry.size || 0)})` : "";
    const node = el("li", {}, `\u201c${entry.metadata.title || "Untitled"}\u201d${name}, started `,
      new Date(entry.creationTime).toLocaleString(), " ");
    const discard = async () => {
      try {
        await tus.Upload.terminate(entry.uploadUrl, { onBeforeRequest: authorize, retryDelays: [] });
      } catch (error) {
        const status = statusOf(error);
        if (status !== 404 && status !== 410) {
          node.append(el("span", { class: "error" }, ` Could not discard it: ${describeTusError(error)}.`));
          return;
        }
      }
      await storage.removeUpload(entry.urlStorageKey);
      node.remove();
      box.hidden = !list.children.length;
    };
    node.append(el("button", { type: "button", class: "link", onclick: discard,
      "aria-label": `Discard the upload of \u201c${entry.metadata.title || "Untitled"}\u201d` }, "Discard"));
    return node;
  };
  list.replaceChildren(...entries.map(item));
  box.hidden = !entries.length;
}

if (await creator($("studio-gate"))) {
  $("uploader").hidden = false;
  if (!tus.isSupported) {
    form.replaceChildren(el("p", { class: "error" },
      "This browser cannot upload files this way: use a recent browser."));
  } else {
    fileInput.addEventListener("change", () => fileChosen().catch(() => {}));
    form.addEventListener("submit", (event) => start(event).catch((error) => {
      formError.textContent = describe(error);
    }));
    buttons.pause.addEventListener("click", async () => {
      await upload.abort();
      show("paused", "Paused. Resume goes on from where it stopped; after leaving this page, "
        + "choose the same file again to continue.");
    });
    buttons.resume.addEventListener("click", () => goOn("Uploading…"));
    buttons.retry.addEventListener("click", () => goOn("Trying again…"));
    await listUnfinished();
  }
}
