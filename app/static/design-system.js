// GOV.UK Frontend's components on the pages that use them (a character count so far), from the
// build in static/vendor. A browser without ES modules skips this file and keeps plain fields.
import { initAll } from "./vendor/govuk-frontend.min.js";

document.body.classList.add("govuk-frontend-supported");
initAll();
