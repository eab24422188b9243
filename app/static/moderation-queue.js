// Keyboard shortcuts of the moderation queue: j/k move between entries, o or Enter opens one,
// p publishes it. Nothing happens while the moderator types in a field.
(function () {
  "use strict";
  var entries = Array.prototype.slice.call(document.querySelectorAll(".queue-entry"));
  if (!entries.length) {
    return;
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function current() {
    return entries.indexOf(document.activeElement.closest(".queue-entry"));
  }

  function focusAt(index) {
    var entry = entries[Math.max(0, Math.min(entries.length - 1, index))];
    entry.focus();
    entry.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) {
      return;
    }
    var index = current();
    var entry = index >= 0 ? entries[index] : null;
    if (event.key === "j") {
      focusAt(index + 1);
    } else if (event.key === "k") {
      focusAt(index < 0 ? 0 : index - 1);
    } else if ((event.key === "o" || (event.key === "Enter" && event.target === entry)) && entry) {
      window.location.assign(entry.dataset.detailUrl);
    } else if (event.key === "p" && entry) {
      var form = entry.querySelector("form.publish-form");
      if (form) {
        form.requestSubmit();
      }
    } else {
      return;
    }
    event.preventDefault();
  });
})();
