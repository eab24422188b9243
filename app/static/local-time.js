// Shows every <time data-local> in the reader's own time zone (the server writes UTC).
(function () {
  "use strict";
  var lang = document.documentElement.lang || undefined;
  var format = new Intl.DateTimeFormat(lang, {
    dateStyle: "long", timeStyle: "short", timeZoneName: undefined
  });
  var zone = new Intl.DateTimeFormat(lang, { timeZoneName: "short" });
  document.querySelectorAll("time[data-local]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime())) { return; }
    var zoneName = zone.formatToParts(moment).filter(function (part) {
      return part.type === "timeZoneName";
    }).map(function (part) { return part.value; }).join("");
    element.textContent = format.format(moment) + " (" + zoneName + ")";
  });
}());
