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
