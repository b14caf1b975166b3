// Small DOM helpers shared by the views. Text always goes in as text (never as HTML).

/** `document.querySelector`, failing loudly when the page and the script disagree. */
export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`missing element ${selector}`);
  return found;
}

/** A new element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "style") Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Show `message` in the error box `box` (empty: hide it). */
export function showError(box, message) {
  box.textContent = message || "";
  box.hidden = !message;
}

/** The non-blank lines of a textarea's value. */
export function lines(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** Wire a view's form: on submit, run `work()` with the button disabled and errors shown. */
export function bindForm(form, errorBox, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    showError(errorBox, "");
    try {
      await work();
    } catch (error) {
      showError(errorBox, error.message || String(error));
    } finally {
      if (button) button.disabled = false;
    }
  });
}

/** A stable pastel colour for an entity type or label. */
export function colourFor(name) {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${hash % 360} 75% 82%)`;
}
