// The console's HTTP calls: the session export and the join QR code. Both need the host
// token as a bearer token, which an <img src> or <a href> cannot send, so the response is
// fetched here and handed to the page as an object URL.

/** Reads the server's one-line reason from a failed response, for a readable message. */
async function failure(resp) {
  let detail = "";
  try {
    detail = (await resp.text()).trim();
  } catch {
    // The body is optional; the status says enough.
  }
  if (resp.status === 401) return new Error("The server did not accept this console's host link.");
  return new Error(detail ? `${detail} (HTTP ${resp.status})` : `The server answered HTTP ${resp.status}.`);
}

/** GETs `path` with the host token; throws an Error a trainer can read when it fails. */
export async function hostFetch(path, token) {
  let resp;
  try {
    resp = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
  } catch {
    throw new Error("Could not reach the server.");
  }
  if (!resp.ok) throw await failure(resp);
  return resp;
}

/** An object URL for the response body (the caller revokes it when replaced). */
export async function objectUrl(path, token) {
  const resp = await hostFetch(path, token);
  return URL.createObjectURL(await resp.blob());
}

/** The file name from `Content-Disposition: attachment; filename="…"`, if any. */
export function attachmentName(header) {
  const m = /filename="([^"]+)"/.exec(header ?? "");
  return m ? m[1] : null;
}

/** Fetches `path` and saves it as a download named by the server (or `fallback`). */
export async function download(path, token, fallback) {
  const resp = await hostFetch(path, token);
  const name = attachmentName(resp.headers.get("content-disposition")) ?? fallback;
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has started the download; the URL can go once the browser has read it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/** The export endpoint for a session. `table` only applies to CSV. */
export function exportPath(session, format, table) {
  const q = new URLSearchParams({ format });
  if (table) q.set("table", table);
  return `/api/sessions/${encodeURIComponent(session)}/export?${q}`;
}

/** The QR code endpoint for a session's join link, as reached from `origin`. */
export function qrPath(session, origin) {
  return `/api/sessions/${encodeURIComponent(session)}/qr.svg?${new URLSearchParams({ origin })}`;
}
