// GOV.UK Frontend's and MOJ Frontend's components on every page (the header's menu on a phone,
// character counts, radios that reveal the fields of the answer chosen, sortable tables, filter
// panels), from the build in static/vendor. A browser without ES modules skips this file and
// keeps plain pages: every field shown, the menu open.
import { initAll } from "./vendor/govuk-frontend.min.js";
import { initAll as initCaseWorking } from "./vendor/moj-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
initCaseWorking();

// The radios' script marks each input that reveals fields with aria-expanded, which ARIA does
// not allow on a radio or a checkbox (axe reports it as critical): aria-controls alone says
// what the input shows, and the revealed fields follow it in the page.
const expanded = "input.govuk-radios__input[aria-expanded], input.govuk-checkboxes__input[aria-expanded]";
const strip = () => document.querySelectorAll(expanded).forEach((input) => input.removeAttribute("aria-expanded"));
new MutationObserver(strip).observe(document.body, {
  subtree: true, attributes: true, attributeFilter: ["aria-expanded"]
});
strip();
