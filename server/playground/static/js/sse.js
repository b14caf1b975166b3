// Server-sent events read from a fetch Response body (fetch + ReadableStream, so that the
// request carries headers and can be aborted; EventSource can do neither).

/** Yield the `data` of each event of `response` until `[DONE]` or the end of the stream. */
export async function* sseData(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const data = eventData(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (data === "[DONE]") return;
        if (data !== null) yield data;
        end = buffer.indexOf("\n\n");
      }
    }
    const rest = eventData(buffer);
    if (rest !== null && rest !== "[DONE]") yield rest;
  } finally {
    reader.releaseLock();
  }
}

/** The joined `data:` lines of one event block; null when it has none (comments, pings). */
function eventData(block) {
  const lines = block
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).replace(/^ /, ""));
  return lines.length ? lines.join("\n") : null;
}
