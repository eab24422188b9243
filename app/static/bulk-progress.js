// Polls a bulk decision's status and updates its progress bar until it finishes.
(function () {
  "use strict";
  var section = document.getElementById("bulk-progress");
  if (!section) { return; }
  var url = section.getAttribute("data-status-url");
  var bar = document.getElementById("bulk-bar");
  var state = document.getElementById("bulk-state");
  if (state.getAttribute("data-status") === "done" || state.getAttribute("data-status") === "failed") {
    return;
  }

  function show(data) {
    bar.value = data.percent;
    bar.textContent = data.percent + "%";
    if (data.status === "done" || data.status === "failed") {
      window.location.reload();  // the page states the outcome in the page's language
    } else {
      document.getElementById("bulk-count").textContent = data.done + " / " + data.total;
      window.setTimeout(poll, 1000);
    }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          window.location.reload();  // signed out or no longer allowed: the page says so
          return null;
        }
        return response.json().then(show);
      })
      .catch(function () { window.setTimeout(poll, 3000); });  // a network blip: try again
  }
  window.setTimeout(poll, 500);
}());
