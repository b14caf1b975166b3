// The playground's entry point: finds the served models, asks for an API key when the server
// answers 401, fills each view's model picker with the models whose task fits, and switches
// views by the URL's fragment (#chat, #embed, ..., #fill-mask).

import { ApiError, hasApiKey, listModels, onUnauthorized, setApiKey } from "./api.js";
import { initChat } from "./chat.js";
import { initClassify } from "./classify.js";
import { $, el, showError } from "./dom.js";
import { initEmbed } from "./embed.js";
import { initFillMask } from "./fill_mask.js";
import { initNer } from "./ner.js";
import { initQa } from "./qa.js";
import { initRerank } from "./rerank.js";
import { initZeroShot } from "./zero_shot.js";

const VIEWS = ["chat", "embed", "classify", "ner", "rerank", "qa", "zero-shot", "fill-mask"];
const status = $("#server-status");
const auth = $("#auth");
const authError = $("#auth-error");

function showView(name) {
  const view = VIEWS.includes(name) ? name : "chat";
  for (const id of VIEWS) $(`#view-${id}`).hidden = id !== view;
  for (const link of document.querySelectorAll("#tabs a")) {
    link.classList.toggle("active", link.dataset.view === view);
  }
}

function askForKey(message) {
  auth.hidden = false;
  showError(authError, message);
  status.textContent = "API key needed";
  $("#api-key").focus();
}

/** Fill every view's model picker; a view with no model for its task says so. */
function fillPickers(models) {
  for (const section of document.querySelectorAll(".view")) {
    const task = section.dataset.task;
    const fitting = models.filter((model) => model.task === task);
    const select = section.querySelector(".model-select");
    select.replaceChildren(
      ...fitting.map((model) =>
        el("option", { value: model.id }, model.ready ? model.id : `${model.id} (loading)`),
      ),
    );
    const empty = section.querySelector(".empty");
    empty.textContent = `No model on this server serves the "${task}" task.`;
    empty.hidden = fitting.length > 0;
    for (const form of section.querySelectorAll("form")) form.hidden = fitting.length === 0;
    section.classList.toggle("no-model", fitting.length === 0);
  }
}

async function connect() {
  try {
    const models = await listModels();
    auth.hidden = true;
    showError(authError, "");
    fillPickers(models);
    document.body.dataset.ready = "true";
    status.textContent = `${models.length} model${models.length === 1 ? "" : "s"} served`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      askForKey(hasApiKey() ? error.message : "");
    } else {
      status.textContent = `Server unreachable: ${error.message}`;
    }
  }
}

onUnauthorized((error) => askForKey(error.message));

$("#auth-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#api-key");
  setApiKey(input.value);
  input.value = "";
  await connect();
});

window.addEventListener("hashchange", () => showView(location.hash.slice(1)));
showView(location.hash.slice(1));
initChat($("#view-chat"));
initEmbed($("#view-embed"));
initClassify($("#view-classify"));
initNer($("#view-ner"));
initRerank($("#view-rerank"));
initQa($("#view-qa"));
initZeroShot($("#view-zero-shot"));
initFillMask($("#view-fill-mask"));
connect();
