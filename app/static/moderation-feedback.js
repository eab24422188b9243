// The moderation detail page: keyboard shortcuts for the decisions, and selected words copied into
// the redaction form. The page works without this script; it only saves keystrokes.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var publish = document.getElementById("publish-form");
    if (event.key === "p" && publish) {
      event.preventDefault();
      publish.requestSubmit ? publish.requestSubmit() : publish.submit();
    } else if (event.key === "r") {
      var reason = document.querySelector("#reject-form select");
      if (reason) { event.preventDefault(); reason.focus(); }
    } else if (event.key === "c") {
      var message = document.querySelector("#changes-form textarea");
      if (message) { event.preventDefault(); message.focus(); }
    }
  });

  // A selection inside a displayed text fills that field's "Text to redact" box.
  document.addEventListener("selectionchange", function () {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) { return; }
    var node = selection.getRangeAt(0).commonAncestorContainer;
    var element = node.nodeType === 1 ? node : node.parentElement;
    var block = element && element.closest(".redactable");
    if (!block) { return; }
    var input = document.getElementById("redact-" + block.getAttribute("data-field") + "-text");
    var text = selection.toString();
    if (input && text.trim()) { input.value = text; }
  });
})();
