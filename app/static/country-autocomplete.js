// Countries by name: a long <select data-autocomplete> becomes a text box that suggests as you
// type (accessible-autocomplete, from static/vendor). The <select> stays what the form sends;
// clearing the box clears the choice, rather than keeping the last one unseen.
(function () {
  "use strict";
  if (!window.accessibleAutocomplete) { return; }
  document.querySelectorAll("select[data-autocomplete]").forEach(function (select) {
    var id = select.id;  // the text box takes the select's id (the select becomes id-select)
    window.accessibleAutocomplete.enhanceSelectElement({
      selectElement: select,
      defaultValue: "",
      showAllValues: true,
      dropdownArrow: function () { return ""; },
      tNoResults: function () { return select.getAttribute("data-no-results") || "No results"; },
      onConfirm: function (label) {
        // On leaving the box no option is highlighted: what is typed in it decides.
        var box = document.getElementById(id);
        var typed = (label === undefined || label === null) ? (box ? box.value : "") : label;
        var match = Array.prototype.find.call(select.options, function (option) {
          return option.value && option.textContent.trim() === (typed || "").trim();
        });
        select.value = match ? match.value : "";
      }
    });
  });
}());
