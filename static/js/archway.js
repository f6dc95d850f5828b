// Say so when an htmx request fails, instead of leaving the page silently stale.
document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  const text = (xhr.responseText || "").replace(/<[^>]*>/g, " ").trim().slice(0, 200);
  showNotice(`Request failed (${xhr.status}). ${text}`);
});
document.addEventListener("htmx:sendError", () => showNotice("The server did not answer. Check your connection."));

function showNotice(message) {
  let box = document.getElementById("notice");
  if (!box) {
    box = document.createElement("div");
    box.id = "notice";
    box.setAttribute("role", "alert");
    document.body.appendChild(box);
  }
  box.textContent = message;
  box.hidden = false;
  clearTimeout(box._timer);
  box._timer = setTimeout(() => { box.hidden = true; }, 6000);
}

// The team switcher goes to the chosen team's pages at once (without script, its Go button).
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select.matches(".team-switcher select") && select.value) location.href = select.value;
});

// A form marked data-reset-on-success empties itself once htmx has sent it successfully.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (form.matches("form[data-reset-on-success]") && event.detail.successful) form.reset();
});

// Typing in a text input refreshes live previews (hx-trigger="inputKeyup") without htmx
// evaluating a trigger filter, which the Content-Security-Policy forbids.
document.addEventListener("keyup", (event) => {
  if (event.target.matches("input")) {
    event.target.dispatchEvent(new CustomEvent("inputKeyup", { bubbles: true }));
  }
});

// Enter in a one-line field of a long form must not save the whole form half filled:
// only the submit button saves. Forms opt in with data-no-enter-submit.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.isComposing) return;
  const field = event.target;
  if (!(field instanceof HTMLInputElement) || !field.form) return;
  if (!field.form.hasAttribute("data-no-enter-submit")) return;
  if (["submit", "button", "reset", "image"].includes(field.type)) return;
  event.preventDefault();
});

// Live validation: a field wrapper with data-validate is checked (htmx trigger
// "fieldcheck") when focus leaves it, even untouched, so an empty required field says
// so at once; radios, checkboxes and selects are checked as they change.
function checkField(element) {
  const wrapper = element.closest && element.closest("[data-validate]");
  if (wrapper && window.htmx) htmx.trigger(wrapper, "fieldcheck");
}
document.addEventListener("focusout", (event) => {
  const field = event.target;
  if (!field.matches || !field.matches("input:not([type=radio]):not([type=checkbox]), textarea")) return;
  const wrapper = field.closest("[data-validate]");
  if (wrapper && !wrapper.contains(event.relatedTarget)) checkField(field);
});
document.addEventListener("change", (event) => {
  if (event.target.matches && event.target.matches("input[type=radio], input[type=checkbox], select")) {
    checkField(event.target);
  }
});

// After a swap started by an element with data-focus-after="<selector>", move the focus
// there (e.g. "Add a hop" puts the cursor in the new row's first field).
document.addEventListener("htmx:afterSettle", (event) => {
  const source = event.detail.requestConfig && event.detail.requestConfig.elt;
  const selector = source && source.dataset && source.dataset.focusAfter;
  if (!selector) return;
  const target = document.querySelector(selector);
  if (target) target.focus();
});
