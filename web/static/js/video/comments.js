// The comment section: threads (newest or most liked first, paged), each thread's replies on
// demand, posting (optionally at the current moment of the video), replying, deleting one's
// own, and comments arriving live (live.js) without a reload. Every comment is kept once, by
// id, whichever way it came (the REST answer to one's own post, a page, or the live room), so
// the order they arrive in does not matter. A comment's timestamp is a button that seeks.
import { api } from "../api.js";
import { currentSession } from "../session.js";
import { ago, count, duration, el, notify } from "../ui.js";
import { ownsChannel, signInHref, viewerName } from "./account.js";
import { joinCommentRoom } from "./live.js";

const PAGE = 20;

const list = document.getElementById("comment-list");
const pinnedBox = document.getElementById("pinned-comment");
const empty = document.getElementById("comments-empty");
const more = document.getElementById("more-comments");
const heading = document.getElementById("comments-heading");
const sortMenu = document.getElementById("comment-sort");

function button(label, onclick, attributes = {}) {
  return el("button", { type: "button", class: "link", ...attributes, onclick }, label);
}

/** A live room message in the REST API's comment shape. */
function fromMessage(message) {
  return {
    id: Number(message.id),
    thread_id: message.thread ? Number(message.thread) : null,
    state: "visible",
    text: message.text,
    author: { username: message.author.username, display_name: message.author.display_name },
    timestamp_seconds: message.timestamp ?? null,
    reply_count: 0,
    pinned: false,
    created_at: new Date(message.time).toISOString(),
    edited_at: null,
  };
}

export function mountComments(info, player) {
  // id → {comment, node (li: main, replyBox, and a thread's replies), replies?}; a thread's
  // replies: {list, loaded, open, cursor, counted: the ids its reply_count already includes
  // beyond the server's count, toggle, more}.
  const comments = new Map();
  let total = info.comment_count;
  let sort = "newest";
  let cursor = null;
  let newestThread = 0; // the highest thread id shown: live history newer than this is missed news
  let listed = false; // the first page is in: before it, the room's history is nothing new

  const showTotal = () => { heading.textContent = total > 0 ? count(total, "comment") : "Comments"; };
  const showEmpty = () => { empty.hidden = list.children.length > 0 || pinnedBox.children.length > 0; };

  const mayDelete = (comment) => comment.state === "visible"
    && (comment.author?.username === viewerName() || ownsChannel(info.channel));
  const seekTo = (seconds) => {
    player.seekTo(seconds);
    player.video.play().catch(() => {});
    document.getElementById("player-box").focus();
  };

  function body(comment) {
    if (comment.state !== "visible") {
      return [el("p", { class: "comment-text muted" }, comment.state === "hidden" ? "[hidden]" : "[deleted]")];
    }
    const at = comment.timestamp_seconds;
    const stamp = at === null || at === undefined ? null
      : button(duration(at), () => seekTo(at), { class: "link timestamp", "aria-label": `Play from ${duration(at)}` });
    return [
      el("div", { class: "comment-head" },
        el("span", { class: "comment-author" }, comment.author.display_name),
        el("span", { class: "muted" }, `@${comment.author.username}`),
        el("time", { class: "muted", datetime: comment.created_at }, ago(comment.created_at)),
        comment.edited_at ? el("span", { class: "muted" }, "(edited)") : null,
        comment.pinned ? el("span", { class: "pin" }, "Pinned") : null),
      el("p", { class: "comment-text" }, stamp, comment.text),
    ];
  }

  function actions(entry) {
    const { comment } = entry;
    const bar = el("div", { class: "comment-actions" });
    if (comment.state !== "visible") return bar;
    if (currentSession()) bar.append(button("Reply", () => openReply(entry)));
    if (mayDelete(comment)) bar.append(button("Delete", () => confirmDelete(comment, bar)));
    return bar;
  }

  /** Draw the comment again (its text, actions, reply count); an open reply form stays. */
  function render(entry) {
    const { comment, replies } = entry;
    entry.main.replaceChildren(...body(comment), actions(entry));
    if (!replies) return;
    const n = comment.reply_count;
    replies.toggle.hidden = n === 0 && !replies.loaded;
    replies.toggle.textContent = replies.open ? "Hide replies" : `View ${n} ${n === 1 ? "reply" : "replies"}`;
    replies.toggle.setAttribute("aria-expanded", String(replies.open));
    replies.list.hidden = !replies.open;
    replies.more.hidden = !replies.open || !replies.cursor;
  }

  /** The entry of a comment not seen before (null if it was). */
  function entryFor(comment) {
    const id = String(comment.id);
    if (comments.has(id)) return null;
    const entry = { comment, main: el("div"), replyBox: el("div") };
    entry.node = el("li", { class: "comment", id: `comment-${id}` }, entry.main, entry.replyBox);
    if (comment.thread_id === null) {
      const replies = {
        list: el("ol", { class: "replies" }), loaded: false, open: false, cursor: null, counted: new Set(),
        toggle: button("", () => toggleReplies(entry), { class: "link replies-toggle" }),
        more: button("More replies", () => loadReplies(entry)),
      };
      entry.replies = replies;
      entry.node.append(replies.toggle, replies.list, replies.more);
      newestThread = Math.max(newestThread, comment.id);
    }
    comments.set(id, entry);
    render(entry);
    return entry;
  }

  /** Add a thread (top-level comment) at the end of the list, or at the top if ``fresh``;
   * false if it was there already. */
  function addThread(comment, { fresh = false, into = list } = {}) {
    const entry = entryFor(comment);
    if (!entry) return false;
    if (fresh) into.prepend(entry.node);
    else into.append(entry.node);
    showEmpty();
    return true;
  }

  /** A new reply under its thread: counted, and listed if the thread's replies are loaded. */
  function addReply(comment) {
    const thread = comments.get(String(comment.thread_id));
    if (!thread || thread.replies.counted.has(comment.id) || comments.has(String(comment.id))) return false;
    thread.replies.counted.add(comment.id);
    thread.comment.reply_count += 1;
    if (thread.replies.loaded) thread.replies.list.append(entryFor(comment).node);
    render(thread);
    return true;
  }

  /** A comment someone just posted, however it arrived; counted once. */
  function added(comment) {
    const isNew = comment.thread_id === null ? addThread(comment, { fresh: true }) : addReply(comment);
    if (isNew) {
      total += 1;
      showTotal();
    }
  }

  async function loadReplies(entry) {
    const { replies } = entry;
    try {
      const page = await api("GET", `/comments/${entry.comment.id}/replies`,
        { query: { limit: PAGE, cursor: replies.cursor } });
      for (const reply of page.items) {
        const fresh = entryFor(reply);
        if (fresh) replies.list.append(fresh.node);
      }
      replies.loaded = true;
      replies.cursor = page.next_cursor;
    } catch (error) {
      notify(`Could not load the replies: ${error.message}`, { error: true });
    }
    render(entry);
  }

  async function toggleReplies(entry) {
    entry.replies.open = !entry.replies.open;
    if (entry.replies.open && !entry.replies.loaded) await loadReplies(entry);
    else render(entry);
  }

  function openReply(entry) {
    if (entry.replyBox.firstChild) {
      entry.replyBox.querySelector("textarea").focus();
      return;
    }
    const { comment } = entry;
    const close = () => entry.replyBox.replaceChildren();
    const text = el("textarea", { rows: "2", maxlength: "10000", required: true,
      "aria-label": `Reply to ${comment.author.display_name}` });
    const submit = el("button", { type: "submit" }, "Reply");
    const form = el("form", { class: "comment-form reply-form" }, text,
      el("div", { class: "comment-form-row" }, button("Cancel", close, { class: "secondary" }), submit));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const posted = await api("POST", `/comments/${comment.id}/replies`, { json: { text: text.value } });
        close();
        added(posted);
        const thread = comments.get(String(posted.thread_id));
        if (thread && !thread.replies.open) await toggleReplies(thread); // to show it
      } catch (error) {
        notify(`Your reply was not posted: ${error.message}`, { error: true });
        submit.disabled = false;
      }
    });
    entry.replyBox.replaceChildren(form);
    text.focus();
  }

  /** Deleting asks first, in place (no dialog): "Delete this comment? Delete Cancel". */
  function confirmDelete(comment, bar) {
    const restore = [...bar.childNodes];
    const yes = button("Delete", async () => {
      try {
        await api("DELETE", `/comments/${comment.id}`);
        remove(String(comment.id));
      } catch (error) {
        notify(`The comment was not deleted: ${error.message}`, { error: true });
        bar.replaceChildren(...restore);
      }
    }, { class: "link danger-link" });
    const cancel = button("Cancel", () => bar.replaceChildren(...restore));
    bar.replaceChildren(el("span", {}, "Delete this comment?"), yes, cancel);
    yes.focus();
  }

  /** A comment deleted or hidden: gone, or "[deleted]" where a thread keeps replies under it. */
  function remove(id) {
    const entry = comments.get(id);
    if (!entry || entry.comment.state !== "visible") return;
    total = Math.max(0, total - 1);
    showTotal();
    if (entry.replies && entry.comment.reply_count > 0) {
      entry.comment = { ...entry.comment, state: "deleted" };
      render(entry);
      return;
    }
    entry.node.remove();
    comments.delete(id);
    const thread = entry.comment.thread_id !== null && comments.get(String(entry.comment.thread_id));
    if (thread) {
      thread.comment.reply_count = Math.max(0, thread.comment.reply_count - 1);
      render(thread);
    }
    showEmpty();
  }

  async function loadThreads() {
    more.disabled = true;
    try {
      const page = await api("GET", `/videos/${info.id}/comments`, { query: { sort, limit: PAGE, cursor } });
      if (page.pinned) addThread(page.pinned, { into: pinnedBox });
      for (const comment of page.items) addThread(comment);
      cursor = page.next_cursor;
      listed = true;
    } catch (error) {
      notify(`Comments could not be loaded: ${error.message}`, { error: true });
    }
    more.disabled = false;
    more.hidden = !cursor;
    showEmpty();
  }

  function reload() {
    comments.clear();
    list.replaceChildren();
    pinnedBox.replaceChildren();
    cursor = null;
    newestThread = 0;
    listed = false;
    return loadThreads();
  }

  mountCommentForm(info, player, added);
  more.addEventListener("click", loadThreads);
  sortMenu.addEventListener("change", () => { sort = sortMenu.value; reload(); });
  showTotal();

  joinCommentRoom(info.id, {
    message: (message) => added(fromMessage(message)),
    // On every (re)join: the room's newest threads, to catch up on any missed while away
    // (or posted between the first page and the join).
    history: (messages) => {
      if (!listed || sort !== "newest") return;
      for (const message of messages) {
        if (!message.thread && Number(message.id) > newestThread) added(fromMessage(message));
      }
    },
    deleted: (id) => remove(String(id)),
  });
  return loadThreads();
}

/** The form for a new top-level comment; signed-out viewers get a sign-in link instead. */
function mountCommentForm(info, player, posted) {
  const form = document.getElementById("comment-form");
  if (!currentSession()) {
    document.getElementById("comment-signin-link").href = signInHref();
    document.getElementById("comment-signin").hidden = false;
    return;
  }
  form.hidden = false;
  const text = document.getElementById("comment-text");
  const atTime = document.getElementById("comment-at-time");
  const when = document.getElementById("comment-time");
  player.video.addEventListener("timeupdate", () => { when.textContent = duration(player.video.currentTime); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    const json = { text: text.value };
    if (atTime.checked) json.timestamp_seconds = Math.floor(player.video.currentTime);
    try {
      posted(await api("POST", `/videos/${info.id}/comments`, { json }));
      text.value = "";
      atTime.checked = false;
    } catch (error) {
      notify(`Your comment was not posted: ${error.message}`, { error: true });
    } finally {
      submit.disabled = false;
    }
  });
}
