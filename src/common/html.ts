export const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Minimal server-rendered page for the few flows that happen outside the dashboard. */
export const htmlPage = (title: string, body: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · meltano-cloud</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}
button,.button{background:#3438bd;color:#fff;border:0;border-radius:6px;padding:.6rem 1rem;font-size:1rem;text-decoration:none;display:inline-block;cursor:pointer}
input{padding:.4rem;font-size:1rem;margin:0 .5rem}</style></head><body>${body}</body></html>`;
