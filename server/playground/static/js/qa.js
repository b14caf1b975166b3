// Question answering: a question and a context -> /v1/qa -> the context with the best answer
// highlighted, and every answer with its score. Offsets count Unicode code points (Python
// string indices), so the context is sliced by code point, not by JavaScript's UTF-16 units.

import { postJson } from "./api.js";
import { $, bindForm, el } from "./dom.js";

/** The context as text nodes with `answer` (if not empty) in a <mark>. */
export function markAnswer(context, answer) {
  const chars = Array.from(context);
  if (!answer || answer.end <= answer.start) return [context];
  const title = `score ${answer.score.toFixed(3)} · [${answer.start}, ${answer.end})`;
  return [
    chars.slice(0, answer.start).join(""),
    el(
      "mark",
      {
        class: "answer",
        "data-start": answer.start,
        "data-end": answer.end,
        "data-score": answer.score,
        title,
      },
      chars.slice(answer.start, answer.end).join(""),
    ),
    chars.slice(answer.end).join(""),
  ];
}

function answerItem(answer) {
  const empty = answer.answer === "";
  return el(
    "li",
    { "data-start": answer.start, "data-end": answer.end, "data-score": answer.score },
    el("span", { class: "score" }, answer.score.toFixed(4)),
    empty
      ? el("span", { class: "muted" }, "(no answer in the context)")
      : el("b", { class: "text" }, answer.answer),
  );
}

export function initQa(section) {
  const result = $("#qa-result", section);
  bindForm($("#qa-form", section), $("#qa-error", section), async () => {
    const question = $("#qa-question", section).value.trim();
    const context = $("#qa-context", section).value;
    if (!question || !context.trim()) throw new Error("Enter a question and a context.");
    const reply = await postJson("/v1/qa", {
      model: $("#qa-model", section).value,
      question,
      context,
      top_k: Number($("#qa-top-k", section).value) || 1,
      handle_impossible_answer: $("#qa-impossible", section).checked,
    });
    const { answers } = reply.data[0];
    const [best] = answers;
    result.replaceChildren(
      el(
        "p",
        {},
        "Answer: ",
        best && best.answer
          ? el("b", { class: "best" }, best.answer)
          : el("span", { class: "best muted" }, "no answer in the context"),
      ),
      el("p", { class: "qa-context" }, ...markAnswer(context, best)),
      el("ol", { class: "ranking answers" }, ...answers.map(answerItem)),
    );
  });
}
