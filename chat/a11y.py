"""Accessibility (BITV 2.0 / WCAG 2.1 AA) where Gradio's own markup falls short: colours, focus, German names.

`GermanPages` puts `lang="de"`, a title, `CSS` and the `HEAD` script into every HTML page the server sends,
the login page included (Gradio gives that one neither the app's `css` nor its `head`). The script keeps fixing
what Gradio renders again and again: the page language, German names for the chat log, each message and Gradio's
English icon buttons, the log marked busy while an answer streams in, errors as alerts, and a skip link to the
question. Checked by axe-core and a keyboard walk in tests/chat/test_a11y.py; see docs/barrierefreiheit.md.
"""

from __future__ import annotations

import html
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat.limits import BUSY_MESSAGE

# Text colours with at least 4.5:1 against every background they appear on, in light and dark mode (Gradio's
# orange button is 2.8:1, its greyed hints 1.9:1, the chat text is faded to 80 %); borders of input fields, the
# slider and the focus ring at least 3:1 (Gradio's light grey field borders are 1.2:1). `:root:root` outranks
# the theme's `:root` and `:root .dark` rules.
CSS = """
:root:root {--button-primary-background-fill: #c2410c; --button-primary-background-fill-hover: #9a3412;
  --button-primary-text-color: #fff; --body-text-color-subdued: #4b5563; --block-info-text-color: #4b5563;
  --input-placeholder-color: #4b5563; --lvo-accent-text: #9a3412; --lvo-alert-text: #b91c1c;
  --lvo-focus: #1d4ed8; --input-border-color: #71717a; --input-border-color-hover: #52525b;
  --checkbox-border-color: #71717a; --slider-color: #c2410c;}
:root:root.dark, :root:root .dark {--button-primary-background-fill: #c2410c;
  --button-primary-background-fill-hover: #9a3412; --body-text-color-subdued: #d1d5db;
  --block-info-text-color: #d1d5db; --input-placeholder-color: #d1d5db; --lvo-accent-text: #fdba74;
  --lvo-alert-text: #fca5a5; --lvo-focus: #93c5fd; --input-border-color: #a1a1aa;
  --input-border-color-hover: #d4d4d8; --checkbox-border-color: #a1a1aa; --slider-color: #fb923c;}
footer.svelte-zxu34v a, footer.svelte-zxu34v button, .min_value, .max_value {color: var(--body-text-color-subdued);}
:focus-visible {outline: 3px solid var(--lvo-focus) !important; outline-offset: 2px;}
.lvo-skip {position: absolute; left: 8px; top: -60px; z-index: 1000; padding: 8px 14px; border-radius: 4px;
  background: var(--background-fill-primary); color: var(--body-text-color); border: 2px solid var(--lvo-focus);}
.lvo-skip:focus {top: 8px;}
[id^="lvo-"] .container .wrap:has(.wrap-inner) {border-color: var(--input-border-color);}  /* dropdowns */
#lvo-chat .prose.chatbot.md {opacity: 1;}
#lvo-chat mark {font-weight: 600; background: #fde047; color: #111827;}
"""

SKIP_LINK = "Zur Frage springen"
QUESTION = "#lvo-frage textarea"
HEAD = """<script>
(() => {
  if (window.lvoAccessible) return;
  window.lvoAccessible = true;
  const NAMES = {"Copy message": "Nachricht kopieren", "Copy conversation": "Unterhaltung kopieren",
    "Scroll down": "Zum Ende der Unterhaltung", "Reset to default value": "Auf Standardwert zurücksetzen",
    "Share": "Teilen", "Clear": "Leeren", "Gradio footer navigation": "Fußzeile", "Close": "Schließen",
    "Settings": "Einstellungen", "Download": "Herunterladen", "Remove": "Entfernen"};
  const GRADIO_BUSY = "This application is currently busy";
  const PATTERNS = [[/^number input for (.*)$/, "$1 (Zahl)"], [/^range slider for (.*)$/, "$1 (Schieberegler)"]];
  const set = (element, name, value) => {
    if (element.getAttribute(name) !== value) element.setAttribute(name, value);
  };
  const german = (element, name) => {
    const value = element.getAttribute(name);
    if (NAMES[value]) return set(element, name, NAMES[value]);
    for (const [pattern, replacement] of PATTERNS) {
      if (pattern.test(value)) return set(element, name, value.replace(pattern, replacement));
    }
  };
  const skipLink = () => {
    if (document.getElementById("lvo-skip") || !document.body) return;
    const link = document.createElement("a");
    link.id = "lvo-skip";
    link.className = "lvo-skip";
    link.href = "#lvo-frage";
    link.textContent = "{skip}";
    link.addEventListener("click", event => {
      const question = document.querySelector("{question}");
      if (question) { event.preventDefault(); question.focus(); }
    });
    document.body.prepend(link);
  };
  const fix = () => {
    set(document.documentElement, "lang", "de");
    skipLink();
    document.querySelectorAll("[aria-label], [title]").forEach(element => {
      if (element.hasAttribute("aria-label")) german(element, "aria-label");
      if (element.hasAttribute("title")) german(element, "title");
    });
    document.querySelectorAll("button[aria-label='']").forEach(button => {
      if (button.title) set(button, "aria-label", button.title); else button.removeAttribute("aria-label");
    });
    // the drop zone's English name hides its visible German text; without it the text is the name
    document.querySelectorAll("button.upload-container[aria-label]").forEach(zone => {
      zone.removeAttribute("aria-label");
    });
    document.querySelectorAll("button.label-wrap").forEach(accordion => {  // "Filter ▼" -> "Filter", expanded
      set(accordion, "aria-expanded", String(accordion.classList.contains("open")));
      accordion.querySelectorAll(".icon").forEach(icon => set(icon, "aria-hidden", "true"));
    });
    const log = document.querySelector("#lvo-chat [role=log]");
    if (log) {
      set(log, "aria-label", "Unterhaltung");
      set(log, "aria-busy", log.querySelector(".lvo-streaming") ? "true" : "false");
      let questions = 0;
      log.querySelectorAll("[data-testid=user], [data-testid=bot]").forEach(message => {
        const asked = message.dataset.testid === "user";
        if (asked) questions += 1;
        set(message, "role", "article");
        set(message, "aria-label", asked ? `Frage ${questions}` : `Antwort ${questions}`);
      });
    }
    const status = document.getElementById("lvo-upload-status");
    if (status) set(status, "role", "status");
    document.querySelectorAll("[data-testid=toast-body].error, [data-testid=toast-body].warning").forEach(toast => {
      set(toast, "role", "alert");
      set(toast, "aria-live", "assertive");
      toast.querySelectorAll("*").forEach(node => {  // Gradio's own text when the server refuses as overloaded
        if (!node.childElementCount && node.textContent.trim().startsWith(GRADIO_BUSY)) node.textContent = "{busy}";
      });
    });
    document.querySelectorAll("[data-testid=toast-body] .toast-header[role=button]").forEach(header => {
      header.removeAttribute("role");  // a "button" around the close button; the close button stays
      header.removeAttribute("tabindex");
    });
  };
  new MutationObserver(fix).observe(document.documentElement, {subtree: true, childList: true,
    attributes: true, attributeFilter: ["aria-label", "title", "lang", "class"]});
  fix();
})();
</script>""".replace("{skip}", SKIP_LINK).replace("{question}", QUESTION).replace("{busy}", BUSY_MESSAGE)


class GermanPages:
    """ASGI middleware: every HTML page goes out as German (`lang="de"`), titled, with `CSS` and the `HEAD` script.

    Only `text/html` responses are buffered and rewritten; the queue's event streams, files and every path under
    one of `untouched` (the source documents, shown as they are) pass as they come.
    """

    _LANG = re.compile(rb'<html(\s+)lang="[^"]*"')

    def __init__(self, app: ASGIApp, title: str, untouched: tuple[str, ...] = ()):
        self.app = app
        self.untouched = untouched
        self.title = f"<title>{html.escape(title)}</title>".encode()
        self.addition = f"<style>{CSS}</style>{HEAD}</head>".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.untouched):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers:
                    start = message
                    return
            if start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = self._german(b"".join(body))
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, rewrite)

    def _german(self, page: bytes) -> bytes:
        page = self._LANG.sub(rb'<html\1lang="de"', page, count=1)
        addition = self.addition if b"<title>" in page else self.title + self.addition
        return page.replace(b"</head>", addition, 1)
