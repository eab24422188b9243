// Signing out forgets the feedback text this browser kept for the person (see feedback-form.js),
// so the next person at a shared computer cannot bring it back.
(function () {
  "use strict";
  var form = document.querySelector("form[data-sign-out]");
  if (!form) { return; }
  form.addEventListener("submit", function () {
    try {
      var store = window.localStorage;
      for (var i = store.length - 1; i >= 0; i -= 1) {
        var key = store.key(i);
        if (key && key.indexOf("consulta-draft:") === 0) { store.removeItem(key); }
      }
    } catch (e) { /* storage disabled: nothing was kept */ }
  });
}());
