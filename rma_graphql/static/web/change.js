// Running a change of a return from a page: the mutation, then the page's reload; a
// conflict reloads too and says why. The message goes to the element with ``messageId`` in
// the page as redrawn; ``done`` runs once the server took the change, before the redraw.
import { Stale, gql } from "./api.js";
import { notice } from "./dom.js";
import { t } from "./i18n.js";

export async function change(query, variables, messageId, reload, done = () => {}) {
  try {
    await gql(query, variables);
    done();
    await reload();
    return true;
  } catch (error) {
    if (error instanceof Stale) return false;
    if (error.code === "CONFLICT") await reload().catch(() => {});
    const place = document.getElementById(messageId);
    if (place) notice(place, error.code === "CONFLICT" ? t("error.conflict") : error.message, "error");
    return false;
  }
}
