// A scripted chat participant: the web UI's own client (socket.io-client from npm, under Node),
// so the tests prove the server speaks to it and not only to python-socketio.
//
// Commands arrive on stdin, one JSON object a line, and run in order:
//   {"op": "connect", "url": "http://host:port", "token"?: "...", "transports"?: ["websocket"]}
//   {"op": "emit", "event": "join", "data": {"room": "live:x"}}
//   {"op": "close"}                      (or end of input)
// Everything that happens is printed on stdout, one JSON object a line:
//   {"type": "connect", "id", "transport"}    {"type": "connect_error", "message", "data"}
//   {"type": "upgrade", "transport"}          {"type": "disconnect", "reason"}
//   {"type": "event", "event", "data"}        {"type": "ack", "event", "data"} or {..., "error"}
// Reading commands from a pipe, rather than a fixed list, lets a test interleave this client
// with a Python one in the same room and wait for each step's outcome before the next.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

// socket.io-client is installed in web/node_modules, which Node's own lookup from tests/ never
// reaches: resolve it as a module of web/ instead.
const webRequire = createRequire(new URL("../../../web/package.json", import.meta.url));
const { io } = webRequire("socket.io-client");

const STEP_MS = 10_000; // no connect or acknowledgement waits longer than the tests do

let socket = null;

function print(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

/** Connects and resolves once the server accepted or refused the connection. */
function connect({ url, token, transports }) {
  socket = io(url, {
    auth: token === undefined ? undefined : { token },
    transports, // absent: the client's default, long-polling upgraded to a WebSocket
    reconnection: false,
    timeout: STEP_MS,
  });
  socket.io.engine.on("upgrade", (transport) => print({ type: "upgrade", transport: transport.name }));
  socket.onAny((event, data) => print({ type: "event", event, data }));
  socket.on("disconnect", (reason) => print({ type: "disconnect", reason }));
  return new Promise((resolve) => {
    socket.once("connect", () => {
      print({ type: "connect", id: socket.id, transport: socket.io.engine.transport.name });
      resolve();
    });
    socket.once("connect_error", (err) => {
      print({ type: "connect_error", message: err.message, data: err.data ?? null });
      resolve();
    });
  });
}

async function emit({ event, data }) {
  try {
    const answer = await socket.timeout(STEP_MS).emitWithAck(event, data);
    print({ type: "ack", event, data: answer });
  } catch (err) {
    print({ type: "ack", event, error: err.message });
  }
}

const commands = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of commands) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  if (command.op === "connect") await connect(command);
  else if (command.op === "emit") await emit(command);
  else if (command.op === "close") break;
  else throw new Error(`unknown op ${JSON.stringify(command.op)}`);
}
commands.close();
socket?.disconnect();
