// The live stream: a snapshot, then {topic, payload} envelopes. Reconnects by itself (each reconnect
// brings a fresh snapshot), backing off up to 10 s; `state` tells the page whether it is live.
export function connect({ onSnapshot, onEnvelope, onState, onRefused }) {
  let delay = 500;
  let socket = null;
  let stopped = false;

  function open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream`);
    socket.addEventListener("open", () => {
      delay = 500;
      onState("live");
    });
    socket.addEventListener("message", (event) => {
      const env = JSON.parse(event.data);
      if (env.topic === "snapshot") onSnapshot(env.payload);
      else onEnvelope(env.topic, env.payload);
    });
    socket.addEventListener("close", async (event) => {
      onState("offline");
      if (stopped) return;
      if (event.code === 1006 && onRefused && (await onRefused())) return; // signed out meanwhile
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    });
  }

  open();
  return {
    close() {
      stopped = true;
      if (socket) socket.close();
    },
  };
}
