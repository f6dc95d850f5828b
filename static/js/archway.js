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
