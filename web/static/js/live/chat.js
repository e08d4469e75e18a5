// The live chat panel (docs/chat.md): Socket.IO in the room live:NAME — history and new
// messages, the send box, refusals as notices by the box, sanctions (cleared messages go, and
// "you were timed out / banned"), the pinned message, the room's rules and viewer count, and
// for moderators per-message actions and a rules control. Socket.IO reconnects by itself; the
// page rejoins on every connect and refreshes an expired access token first.
import { accessToken, chatServer } from "../api.js";
import { currentSession } from "../session.js";
import { count, el } from "../ui.js";
import { MessageList, authorLine } from "./chat_messages.js";

const TIMEOUT_SECONDS = 600;
const SLOW_MODES = [0, 3, 10, 30, 60, 120];
const NOTICE_SECONDS = 8;

const byId = (id) => document.getElementById(id);
const panel = {
  state: byId("chat-state"), rules: byId("chat-rules"), pinned: byId("chat-pinned"),
  messages: byId("chat-messages"), moderation: byId("chat-moderation"), slowMode: byId("slow-mode"),
  subscribersOnly: byId("subscribers-only"), notice: byId("chat-notice"), standing: byId("chat-standing"),
  form: byId("chat-form"), input: byId("chat-input"), send: byId("chat-send"), signin: byId("chat-signin"),
  signinLink: byId("chat-signin-link"), viewers: byId("viewers"),
};

function seconds(n) {
  return n < 90 ? `${n} s` : `${Math.round(n / 60)} min`;
}

function sentence(text) {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** What a refused event means, as a sentence for the person who sent it. */
function refusal({ code, message, retry_after: wait }) {
  switch (code) {
    case "slow_mode": return `Slow mode is on: wait ${seconds(wait)} before your next message.`;
    case "rate_limited": return `You are sending messages too fast: wait ${seconds(wait)}.`;
    case "timed_out": return `You are timed out: you can chat again in ${seconds(wait)}.`;
    case "banned": return "You are banned from this channel's chat.";
    case "subscribers_only": return "Only the channel's subscribers can chat right now.";
    case "sign_in_required": return "Sign in to chat.";
    case "flood": return "Too many actions at once: slow down.";
    default: return sentence(message); // banned_word, bad_text (too long), not_found, …
  }
}

/** A small text-like button; ``description`` is its accessible name (and tooltip). */
function linkButton(label, description, onclick) {
  const attributes = { type: "button", class: "link", "aria-label": description, title: description, onclick };
  return el("button", attributes, label);
}

class LiveChat {
  constructor(stream) {
    this.room = `live:${stream}`;
    this.session = currentSession();
    this.myId = null; // learnt from my own messages (the API does not expose user ids)
    this.moderator = false;
    this.inRoom = false;
    this.blocked = false; // banned or timed out
    this.noticeTimer = null;
    this.standingTimer = null;
    this.socket = null;
    this.list = new MessageList(panel.messages, (message) => this.actionsFor(message));
  }

  async start() {
    panel.signinLink.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
    this.showSignedIn(Boolean(this.session));
    for (const value of SLOW_MODES) panel.slowMode.add(new Option(value ? seconds(value) : "Off", String(value)));
    panel.slowMode.addEventListener("change",
      () => this.emit("set_rules", { slow_mode: Number(panel.slowMode.value) }));
    panel.subscribersOnly.addEventListener("change",
      () => this.emit("set_rules", { subscribers_only: panel.subscribersOnly.checked }));
    panel.form.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });

    const token = await accessToken();
    const socket = io(chatServer(), { auth: token ? { token } : undefined, transports: ["websocket"] });
    this.socket = socket;
    socket.on("connect", () => socket.emit("join", { room: this.room }, (answer) => this.joined(answer)));
    socket.on("disconnect", (reason) => {
      this.leftRoom();
      if (reason === "io server disconnect") socket.connect(); // dropped by the server: not retried by itself
    });
    socket.on("connect_error", (error) => this.refusedConnection(error));
    socket.on("message", (message) => { this.learn(message); this.list.add(message); });
    socket.on("deleted", ({ id }) => this.list.remove(id));
    socket.on("sanction", (sanction) => this.sanctioned(sanction));
    socket.on("pinned", ({ message }) => this.showPinned(message));
    socket.on("rules", (rules) => this.showRules(rules));
    socket.on("viewers", ({ count: viewers }) => this.showViewers(viewers));
    socket.on("error", (error) => this.refused(error));
  }

  emit(event, data, answered) {
    this.socket.emit(event, { room: this.room, ...data }, (answer) => {
      if (answer?.ok && answered) answered(answer); // a refusal also comes as an error event
    });
  }

  // -- connection ------------------------------------------------------------------------------

  joined(answer) {
    if (!answer?.ok) return; // the error event says why
    const you = answer.you;
    this.moderator = Boolean(you.moderator);
    panel.moderation.hidden = !this.moderator;
    this.showSignedIn(you.signed_in);
    answer.history.forEach((message) => this.learn(message));
    this.list.replace(answer.history);
    this.showPinned(answer.pinned);
    this.showRules(answer.rules);
    this.showViewers(answer.viewers);
    if (you.banned) this.setStanding("You are banned from this channel's chat.");
    else if (you.timed_out_until) this.timedOut(you.timed_out_until, "You are timed out");
    else this.setStanding(null);
    this.inRoom = true;
    panel.state.textContent = "";
    this.updateSendBox();
  }

  leftRoom() {
    this.inRoom = false;
    panel.state.textContent = "Reconnecting…";
    this.updateSendBox();
  }

  /** A refused connection is not retried by socket.io: an expired token is refreshed first;
   * a token that cannot be refreshed leaves the person reading as a visitor. */
  async refusedConnection(error) {
    panel.state.textContent = "Reconnecting…";
    if (this.socket.active) return; // the network: socket.io retries by itself
    if (!this.socket.auth) {
      panel.state.textContent = "Chat is unavailable — reload the page to try again.";
      return;
    }
    const token = error.data?.code === "token_expired" ? await accessToken({ fresh: true }) : null;
    this.socket.auth = token ? { token } : undefined;
    if (!token) {
      this.showSignedIn(false);
      panel.signinLink.textContent = "Your session has ended — sign in again to chat";
    }
    this.socket.connect();
  }

  // -- what the server says ----------------------------------------------------------------------

  learn(message) {
    const me = this.session?.user?.username;
    if (me && message.author.username === me) this.myId = message.author.id;
  }

  sanctioned({ user_id: userId, kind, until, cleared }) {
    cleared.forEach((id) => this.list.remove(id));
    if (userId !== this.myId) return;
    if (kind === "ban") this.setStanding("You were banned from this channel's chat.");
    else if (kind === "timeout") this.timedOut(until, "You were timed out");
    else {
      this.setStanding(null);
      this.notice("You can chat again.");
    }
  }

  refused(error) {
    if (error.event === "join") panel.state.textContent = refusal(error); // e.g. no such stream
    else if (error.code === "banned") this.setStanding(refusal(error));
    else if (error.code === "timed_out") this.timedOut(Date.now() + error.retry_after * 1000, "You are timed out");
    else this.notice(refusal(error), { seconds: Math.max(error.retry_after ?? 0, NOTICE_SECONDS) });
  }

  // -- the panel ---------------------------------------------------------------------------------

  showSignedIn(signedIn) {
    panel.form.hidden = !signedIn;
    panel.signin.hidden = signedIn;
  }

  updateSendBox() {
    const open = this.inRoom && !this.blocked;
    panel.input.disabled = !open;
    panel.send.disabled = !open;
  }

  notice(text, { seconds: shownFor = NOTICE_SECONDS, action = null } = {}) {
    clearTimeout(this.noticeTimer);
    panel.notice.replaceChildren(text, action ? " " : "", action ?? "");
    panel.notice.hidden = false;
    this.noticeTimer = setTimeout(() => { panel.notice.hidden = true; }, shownFor * 1000);
  }

  setStanding(text) {
    clearTimeout(this.standingTimer);
    this.blocked = Boolean(text);
    panel.standing.textContent = text ?? "";
    panel.standing.hidden = !text;
    this.updateSendBox();
  }

  timedOut(until, lead) {
    const end = new Date(until).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    this.setStanding(`${lead} until ${end}.`);
    this.standingTimer = setTimeout(() => this.setStanding(null), until - Date.now());
  }

  showPinned(message) {
    panel.pinned.hidden = !message;
    if (!message) {
      panel.pinned.replaceChildren();
      return;
    }
    panel.pinned.replaceChildren(el("p", {},
      el("span", { class: "chat-pin-label" }, "Pinned"), " ", authorLine(message.author), " ",
      el("span", { class: "chat-text" }, message.text),
      this.moderator ? linkButton("Unpin", "Unpin the message", () => this.emit("unpin", {})) : null,
    ));
  }

  showRules(rules) {
    const said = [];
    if (rules.slow_mode) said.push(`Slow mode: 1 message every ${seconds(rules.slow_mode)}`);
    if (rules.subscribers_only) said.push("Subscribers only");
    panel.rules.textContent = said.join(" · ");
    panel.rules.hidden = !said.length;
    panel.input.maxLength = rules.max_length;
    const value = String(rules.slow_mode);
    if (![...panel.slowMode.options].some((option) => option.value === value)) {
      panel.slowMode.add(new Option(seconds(rules.slow_mode), value));
    }
    panel.slowMode.value = value;
    panel.subscribersOnly.checked = rules.subscribers_only;
  }

  showViewers(viewers) {
    panel.viewers.textContent = count(viewers, "viewer");
  }

  send() {
    const text = panel.input.value.trim();
    if (!text) return;
    this.emit("send", { text }, ({ message }) => {
      this.learn(message);
      this.list.add(message);
      if (panel.input.value.trim() === text) panel.input.value = "";
      panel.notice.hidden = true;
    });
  }

  // -- moderation ----------------------------------------------------------------------------

  actionsFor(message) {
    const mine = this.myId !== null && message.author.id === this.myId;
    if (!this.moderator && !mine) return null;
    const { author, id } = message;
    const who = author.display_name;
    const sanctionable = this.moderator && !mine && !["owner", "admin"].includes(author.badge);
    return el("span", { class: "chat-actions" },
      linkButton("Delete", `Delete the message from ${who}`, () => this.emit("delete", { id })),
      sanctionable ? [
        linkButton("Time out", `Time out ${who} for 10 minutes`, () => this.sanction("timeout", author)),
        linkButton("Ban", `Ban ${who} from this channel's chat`, () => this.sanction("ban", author)),
      ] : null,
      this.moderator ? linkButton("Pin", `Pin the message from ${who}`, () => this.emit("pin", { id })) : null,
    );
  }

  sanction(kind, author) {
    const data = kind === "timeout" ? { user_id: author.id, seconds: TIMEOUT_SECONDS } : { user_id: author.id };
    const done = kind === "timeout" ? `${author.display_name} is timed out for ${seconds(TIMEOUT_SECONDS)}.`
      : `${author.display_name} is banned.`;
    const lift = () => this.emit("unban", { user_id: author.id },
      () => this.notice(`${author.display_name} may chat again.`));
    this.emit(kind, data, () => this.notice(done, { action: linkButton("Undo", `Undo: ${done}`, lift) }));
  }
}

/** Open the chat of the live stream ``stream``. */
export function startChat(stream) {
  return new LiveChat(stream).start();
}
