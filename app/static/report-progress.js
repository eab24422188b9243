// Polls a running report's status and updates the progress bar; reloads when the report
// becomes readable (its files still being written) and when it finishes.
(function () {
  "use strict";
  var section = document.getElementById("report-progress");
  if (!section) { return; }
  var url = section.getAttribute("data-status-url");
  var bar = document.getElementById("progress-bar");
  var stage = document.getElementById("progress-stage");
  var readable = section.getAttribute("data-readable") === "true";

  function show(data) {
    bar.value = data.percent;
    bar.textContent = data.percent + "%";
    stage.textContent = data.progress_label;  // the stage, or "waiting to be retried"
    if (data.status === "done" || data.status === "failed" || (data.readable && !readable)) {
      window.location.reload();
    } else {
      window.setTimeout(poll, 1000);
    }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          // Signed out or no longer allowed: the reloaded page says so; stop polling.
          window.location.reload();
          return null;
        }
        return response.json().then(show);
      })
      .catch(function () { window.setTimeout(poll, 3000); });  // a network blip: try again
  }
  window.setTimeout(poll, 500);
}());
