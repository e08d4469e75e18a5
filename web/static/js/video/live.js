// The video's comment room over Socket.IO (docs/chat.md): room "video:{id}", joined on every
// (re)connection; new comments and replies arrive as "message" (with "thread" for a reply),
// deleted or hidden ones as "deleted". Signed in, the connection carries the access token
// (private videos' rooms exist only for those who may watch them); a token that has expired
// is refreshed once per refusal and the connection tried again.
import { accessToken, chatServer } from "../api.js";

const TOKEN_REFUSALS = new Set(["invalid_token", "token_expired"]);

/** Join the room of ``videoId``; ``on.message(m)``, ``on.history([m])``, ``on.deleted(id)``. */
export async function joinCommentRoom(videoId, on) {
  if (!window.io) return; // the vendor script did not load: comments still work, not live
  const room = `video:${videoId}`;
  const token = await accessToken();
  const socket = io(chatServer(), { auth: token ? { token } : {}, transports: ["websocket"] });
  let refreshed = false;

  socket.on("connect", () => {
    refreshed = false;
    socket.emit("join", { room }, (answer) => {
      if (answer?.ok) on.history(answer.history || []);
    });
  });
  socket.on("connect_error", async (error) => {
    if (!TOKEN_REFUSALS.has(error.data?.code) || refreshed) return;
    refreshed = true;
    const fresh = await accessToken({ fresh: true });
    socket.auth = fresh ? { token: fresh } : {};
    socket.connect();
  });
  socket.on("message", (message) => { if (message.room === room) on.message(message); });
  socket.on("deleted", (gone) => { if (gone.room === room) on.deleted(gone.id); });
  return socket;
}
