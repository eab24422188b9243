// The feedback form: saves the draft in the background, keeps a copy of what was typed in this
// browser (so an expired session or a closed tab loses nothing), and ignores a second click on
// a submit button while the first submission is on its way.
(function () {
  "use strict";
  var form = document.getElementById("feedback-form");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var url = form.getAttribute("data-autosave-url");
  var backupKey = form.getAttribute("data-backup-key");
  var INTERVAL = 15000;
  var dirty = false, inFlight = false, stopped = false, sending = false, lastButton = null;
  var waitingSubmit = null;  // a button pressed while a background save was on its way
  var MAX_AGE = 14 * 24 * 3600 * 1000;  // copies older than two weeks are dropped

  function message(name, time) {
    return (form.getAttribute("data-msg-" + name) || "").replace("{time}", time || "");
  }
  function say(text) { if (status) { status.textContent = text; } }

  // Only the answers a person types or chooses; the token and the lock travel separately, and
  // the file inputs below the form (form="feedback-form") belong to the upload, not the answers.
  function answer(el) {
    return el.name && el.type !== "hidden" && el.type !== "submit" && el.type !== "file" &&
      form.contains(el);
  }
  function values() {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!answer(el)) { return; }
      if (el.type === "radio" || el.type === "checkbox") {
        data[el.name] = data[el.name] || [];
        if (el.checked) { data[el.name].push(el.value); }
      } else if (el.multiple) {
        data[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else {
        data[el.name] = el.value;
      }
    });
    return data;
  }
  function restore(data) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!answer(el) || !(el.name in data)) { return; }
      var value = data[el.name];
      if (el.type === "radio" || el.type === "checkbox") {
        el.checked = value.indexOf(el.value) !== -1;
      } else if (el.multiple) {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = value.indexOf(o.value) !== -1; });
      } else {
        el.value = value;
      }
    });
  }
  // The server trims what it stores, so surrounding spaces do not count as unsaved text.
  function same(a, b) {
    function trimmed(data) {
      var out = {};
      Object.keys(data).sort().forEach(function (k) {
        out[k] = typeof data[k] === "string" ? data[k].trim() : data[k];
      });
      return JSON.stringify(out);
    }
    return trimmed(a) === trimmed(b);
  }
  function storage() { try { return window.localStorage; } catch (e) { return null; } }
  function keep() {
    var store = storage();
    if (store && backupKey) {
      store.setItem(backupKey, JSON.stringify({ at: new Date().toISOString(), values: values() }));
    }
  }
  function forget() { var store = storage(); if (store && backupKey) { store.removeItem(backupKey); } }

  // Offer text this browser kept but the server does not have (an expired session, a crash).
  function offerBackup() {
    var store = storage();
    var raw = store && backupKey ? store.getItem(backupKey) : null;
    if (!raw) { return; }
    var backup;
    try { backup = JSON.parse(raw); } catch (e) { forget(); return; }
    if (!backup.at || Date.now() - new Date(backup.at).getTime() > MAX_AGE) { forget(); return; }
    if (same(backup.values, values())) {
      // The page shows what the server stored: the copy has done its job. On a page sent back
      // unsaved (an expired session), the copy stays until the text is saved.
      if (form.hasAttribute("data-stored")) { forget(); }
      return;
    }
    if (form.querySelector("fieldset[disabled]")) { return; }
    var box = document.createElement("div");
    box.className = "govuk-inset-text";
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", message("restore-title"));
    var text = document.createElement("p");
    text.className = "govuk-body";
    text.textContent = message("restore", new Date(backup.at).toLocaleString());
    var button = document.createElement("button");
    button.type = "button";
    button.className = "govuk-button govuk-button--secondary";
    button.textContent = message("restore-button");
    button.addEventListener("click", function () {
      restore(backup.values);
      box.remove();
      dirty = true;
      say(message("restored"));
    });
    box.appendChild(text);
    box.appendChild(button);
    form.parentNode.insertBefore(box, form);
  }

  // The time of a save as every other time on the site is shown: the reader's own time zone,
  // named ("14:05 CET"), in the page's language.
  function savedAt(iso) {
    var lang = document.documentElement.lang || undefined;
    return new Date(iso).toLocaleTimeString(lang, {
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
  }

  function autosave() {
    if (!url || stopped || inFlight || !dirty) { return; }
    inFlight = true;
    dirty = false;
    var body = new FormData(form);
    // The upload's own inputs (a chosen file) are not part of a background save.
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && !form.contains(el)) { body.delete(el.name); }
    });
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, code: response.status, data: data }; });
      })
      .then(function (result) {
        inFlight = false;
        if (result.ok) {
          form.elements.lock_version.value = result.data.lock_version;
          say(message("saved", savedAt(result.data.saved_at)));
          if (!dirty) { forget(); }
          submitWaiting();
          return;
        }
        submitWaiting();
        dirty = true;
        if (result.code === 409 && result.data.error.field === "lock_version") {
          stopped = true;
          say(message("conflict"));
        } else if (result.code === 401 || result.code === 400) {
          stopped = true;
          say(message("expired"));
        } else {
          say(result.data.error.message || message("failed"));
        }
      })
      .catch(function () { inFlight = false; dirty = true; say(message("failed")); submitWaiting(); });
  }

  // The button pressed meanwhile goes out now, with the lock version the save just returned,
  // so a person never meets their own background save as "a colleague's" change.
  function submitWaiting() {
    if (!waitingSubmit) { return; }
    var button = waitingSubmit;
    waitingSubmit = null;
    form.requestSubmit(button);
  }

  form.addEventListener("input", function () { dirty = true; keep(); });
  form.addEventListener("change", function () { dirty = true; keep(); });
  form.addEventListener("click", function (event) {
    if (event.target.type === "submit") { lastButton = event.target; }
  });
  form.addEventListener("submit", function (event) {
    // A double click sends one submission, not two.
    if (sending || waitingSubmit) { event.preventDefault(); return; }
    if (inFlight) {
      event.preventDefault();
      waitingSubmit = event.submitter || lastButton;
      stopped = true;
      return;
    }
    sending = true;
    stopped = true;
    keep();
    if (lastButton) { lastButton.setAttribute("aria-disabled", "true"); }
  });
  offerBackup();
  if (url) { window.setInterval(autosave, INTERVAL); }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { autosave(); }
  });
}());
