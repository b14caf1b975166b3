// Chat: /v1/chat/completions or Anthropic's /v1/messages (the API switch), streamed as
// server-sent events (fetch + ReadableStream) with live time to first token and tokens per
// second; Stop aborts the request (AbortController), which makes the server abort the
// generation.

import { ApiError, call } from "./api.js";
import { $, el, showError } from "./dom.js";
import { sseData } from "./sse.js";

/** Live statistics of one answer: time to first token, tokens, decode rate. */
class Timing {
  constructor() {
    this.started = performance.now();
    this.firstAt = null;
    this.lastAt = null;
    this.tokens = 0;
  }

  token(count = 1) {
    const now = performance.now();
    if (this.firstAt === null) this.firstAt = now;
    this.lastAt = now;
    this.tokens += count;
  }

  get ttftMs() {
    return this.firstAt === null ? null : this.firstAt - this.started;
  }

  /** Tokens per second after the first one (the decode rate); null until it can be told. */
  get tokensPerSecond() {
    if (this.firstAt === null || this.tokens < 2 || this.lastAt <= this.firstAt) return null;
    return (this.tokens - 1) / ((this.lastAt - this.firstAt) / 1000);
  }
}

/** Tool calls assembled from streamed `delta.tool_calls` fragments (by their index). */
class ToolCalls {
  constructor(box) {
    this.box = box;
    this.calls = [];
  }

  add(fragments) {
    for (const fragment of fragments || []) {
      const index = fragment.index ?? this.calls.length;
      const call = (this.calls[index] ||= { id: "", type: "function", name: "", arguments: "" });
      if (fragment.id) call.id = fragment.id;
      if (fragment.type) call.type = fragment.type;
      const fn = fragment.function || {};
      if (fn.name) call.name += fn.name;
      if (fn.arguments) call.arguments += fn.arguments;
    }
    this.render();
  }

  render() {
    this.box.replaceChildren(
      ...this.calls.filter(Boolean).map((call) =>
        el(
          "div",
          { class: "tool-call", "data-id": call.id },
          el("span", { class: "tool-name" }, `${call.name || "(unnamed)"}(`),
          el("span", { class: "tool-args" }, call.arguments),
          ")",
        ),
      ),
    );
  }

  get count() {
    return this.calls.filter(Boolean).length;
  }
}

export function initChat(section) {
  const log = $("#chat-log", section);
  const input = $("#chat-input", section);
  const send = $("#chat-send", section);
  const stop = $("#chat-stop", section);
  const errorBox = $("#chat-error", section);
  const state = $("#chat-state", section);
  const history = [];
  let controller = null;

  function addMessage(role, text) {
    const content = el("span", { class: "content" }, text);
    const tools = el("div", { class: "tool-calls" });
    const node = el("div", { class: `msg msg-${role}` }, el("span", { class: "role" }, role));
    node.append(content, tools);
    log.append(node);
    log.scrollTop = log.scrollHeight;
    return { node, content, tools };
  }

  function showStats(timing) {
    const ttft = timing.ttftMs;
    const rate = timing.tokensPerSecond;
    $("#chat-ttft", section).textContent = ttft === null ? "-" : `${Math.round(ttft)} ms`;
    $("#chat-tps", section).textContent = rate === null ? "-" : rate.toFixed(1);
    $("#chat-tokens", section).textContent = String(timing.tokens);
  }

  function request(api, stream) {
    const system = $("#chat-system", section).value.trim();
    const body = {
      model: $("#chat-model", section).value,
      temperature: Number($("#chat-temperature", section).value),
      top_p: Number($("#chat-top-p", section).value),
      max_tokens: Number($("#chat-max-tokens", section).value),
      stream,
    };
    if (api === "messages") {
      if (system) body.system = system;
      body.messages = [...history];
      return body;
    }
    body.messages = system ? [{ role: "system", content: system }, ...history] : [...history];
    if (stream) body.stream_options = { include_usage: true };
    return body;
  }

  async function streamAnswer(response, bubble, timing, tools) {
    let text = "";
    for await (const data of sseData(response)) {
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(response.status, chunk.error.message, chunk);
      for (const choice of chunk.choices || []) {
        const delta = choice.delta || {};
        if (delta.content) {
          text += delta.content;
          bubble.content.textContent = text;
          timing.token();
        }
        if (delta.tool_calls) {
          tools.add(delta.tool_calls);
          timing.token();
        }
      }
      if (chunk.usage) timing.tokens = chunk.usage.completion_tokens;
      showStats(timing);
      log.scrollTop = log.scrollHeight;
    }
    return text;
  }

  /** Anthropic's events: text and tool input deltas by block, usage in message_delta. */
  async function streamMessage(response, bubble, timing, tools) {
    let text = "";
    const calls = {}; // block index -> tool call index
    for await (const data of sseData(response)) {
      const event = JSON.parse(data);
      if (event.type === "error") throw new ApiError(response.status, event.error.message, event);
      if (event.type === "content_block_start" && event.content_block.type === "tool_use") {
        calls[event.index] = Object.keys(calls).length;
        const block = event.content_block;
        tools.add([{ index: calls[event.index], id: block.id, function: { name: block.name } }]);
      } else if (event.type === "content_block_delta") {
        const delta = event.delta;
        if (delta.type === "text_delta") {
          text += delta.text;
          bubble.content.textContent = text;
        } else if (delta.type === "input_json_delta") {
          const index = calls[event.index];
          tools.add([{ index, function: { arguments: delta.partial_json } }]);
        }
        timing.token();
      } else if (event.type === "message_delta" && event.usage) {
        timing.tokens = event.usage.output_tokens;
      }
      showStats(timing);
      log.scrollTop = log.scrollHeight;
    }
    return text;
  }

  async function wholeMessage(response, bubble, timing, tools) {
    const reply = await response.json();
    const text = reply.content
      .filter((block) => block.type === "text")
      .map((block) => block.text)
      .join("");
    bubble.content.textContent = text;
    const uses = reply.content.filter((block) => block.type === "tool_use");
    tools.add(
      uses.map((block, index) => ({
        index,
        id: block.id,
        function: { name: block.name, arguments: JSON.stringify(block.input) },
      })),
    );
    timing.token(reply.usage.output_tokens);
    showStats(timing);
    return text;
  }

  async function wholeAnswer(response, bubble, timing, tools) {
    const reply = await response.json();
    const message = reply.choices[0].message;
    bubble.content.textContent = message.content || "";
    tools.add((message.tool_calls || []).map((call, index) => ({ index, ...call })));
    timing.token(reply.usage ? reply.usage.completion_tokens : 1);
    showStats(timing);
    return message.content || "";
  }

  async function submit() {
    const text = input.value;
    if (!text.trim() || controller) return;
    input.value = "";
    showError(errorBox, "");
    history.push({ role: "user", content: text });
    const question = addMessage("user", text);
    const stream = $("#chat-stream", section).checked;
    const api = $("#chat-api", section).value;
    const body = request(api, stream);
    const bubble = addMessage("assistant", "");
    const tools = new ToolCalls(bubble.tools);
    const timing = new Timing();
    showStats(timing);
    controller = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    state.textContent = "generating...";
    let answer = "";
    try {
      const path = api === "messages" ? "/v1/messages" : "/v1/chat/completions";
      const response = await call("POST", path, body, controller.signal);
      const read =
        api === "messages"
          ? stream
            ? streamMessage
            : wholeMessage
          : stream
            ? streamAnswer
            : wholeAnswer;
      answer = await read(response, bubble, timing, tools);
      state.textContent = "done";
    } catch (error) {
      if (error.name === "AbortError") {
        bubble.node.classList.add("stopped");
        state.textContent = "stopped";
      } else {
        showError(errorBox, error.message || String(error));
        state.textContent = "failed";
      }
      answer = bubble.content.textContent;
    } finally {
      controller = null;
      send.disabled = false;
      stop.disabled = true;
    }
    // The server takes no tool messages yet: the history keeps the text of each answer.
    if (answer || tools.count) {
      history.push({ role: "assistant", content: answer });
    } else {
      history.pop(); // nothing came back: the question goes back to the input, as it was
      bubble.node.remove();
      question.node.remove();
      if (!input.value) input.value = text;
    }
  }

  $("#chat-form", section).addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  stop.addEventListener("click", () => {
    if (controller) controller.abort();
  });
  $("#chat-clear", section).addEventListener("click", () => {
    if (controller) controller.abort();
    history.length = 0;
    log.replaceChildren();
    showError(errorBox, "");
    state.textContent = "";
  });
}
