// Copying a link to the clipboard, on the plain-http LAN pages a workshop runs on too.

/** Copies `text`; where the clipboard API is unavailable (no secure context), selects
 * `input` and falls back to the older copy command. */
export async function copyText(text, input) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Fall through to the selection-based copy.
  }
  input.focus();
  input.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  }
}
