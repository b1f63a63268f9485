"""The bench's keyboard: the pages' keys and styles (``BENCH_HEAD``) and the key caps that show them.

Alt+C the complaint, Alt+F a new finding, Alt+N no fault found (on the list: take the next unit),
Alt+L labour start / pause, Alt+T to test, Alt+P to programming, Alt+R ask the stores for a part;
1–5 alone take a suggestion into the finding form. A digit that is the start of a scan (another key follows at a scanner's pace)
goes to the scan box instead, so a tag scanned anywhere still opens its card.
"""

from __future__ import annotations

from nicegui import Client, ui

from rma.ui.banner import SIGNAL_HEAD

BENCH_HEAD = SIGNAL_HEAD + """
<style>
  .rma-bench-section { scroll-margin-top: 5rem; }
  .rma-kbd { font-family: ui-monospace, monospace; font-size: .75rem; border: 1px solid #94a3b8;
             border-bottom-width: 2px; border-radius: 4px; padding: 0 .3em; background: #f8fafc; color: #0f172a; }
</style>
<script>
window.rmaBench = (() => {
  const q = (s) => document.querySelector(s);
  const isText = (t) => !!t && !t.readOnly && (t.isContentEditable || t.tagName === 'TEXTAREA' ||
    (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'file'].includes(t.type)));
  const click = (id) => {
    const b = q(`[data-testid="${id}"]`);
    if (!b || b.disabled || b.classList.contains('disabled') || b.offsetParent === null) return false;
    b.click();
    return true;
  };
  function focusIn(testid) {
    let tries = 0;
    const go = () => {
      const el = q(`[data-testid="${testid}"]`);
      const target = el && (el.matches('input, button, textarea') ? el : el.querySelector('input, textarea, button'));
      if (target) { target.focus(); if (el.scrollIntoView) el.scrollIntoView({block: 'center'}); }
      else if (tries++ < 60) setTimeout(go, 25);
    };
    go();
  }
  let held = null, heldKey = '';
  function toScanBox() {  // the held digit began a scan: it goes on in the scan box
    const box = q('input[data-scan-box]');
    if (box) { box.focus(); box.value += heldKey; }
    held = null; heldKey = '';
  }
  const KEYS = {
    KeyC: () => focusIn('complaint-condition'),
    KeyF: () => focusIn('finding-section'),
    KeyN: () => click('finding-nff') || click('take-next'),
    KeyL: () => click('labour-toggle'),
    KeyT: () => click('decide-test'),
    KeyP: () => click('decide-programming'),
    KeyR: () => focusIn('parts-request-part'),
  };
  window.addEventListener('keydown', (e) => {
    if (e.isComposing || e.ctrlKey || e.metaKey || q('.q-dialog')) return;
    if (e.altKey) {
      const act = KEYS[e.code];
      if (act) { e.preventDefault(); e.stopPropagation(); act(); }
      return;
    }
    if (held) { clearTimeout(held); toScanBox(); return; }
    if (isText(document.activeElement)) return;
    if (/^[1-5]$/.test(e.key) && q(`[data-testid="suggestion-take-${e.key}"]`)) {
      e.preventDefault(); e.stopPropagation();
      heldKey = e.key;
      held = setTimeout(() => { const k = heldKey; held = null; heldKey = ''; click(`suggestion-take-${k}`); }, 80);
    }
  }, true);
  return {focusIn, click};
})();
</script>
"""


def key_hint(keys: tuple[str, ...], what: str) -> None:
    """A keyboard hint: the keys as key caps, then what they do."""
    with ui.row().classes("items-center gap-1 no-wrap text-sm text-slate-500"):
        for n, key in enumerate(keys):
            if n:
                ui.label("/")
            ui.label(key).classes("rma-kbd")
        ui.label(what)


def focus_in(testid: str, client: Client | None = None) -> None:
    """Put the cursor into the field marked ``testid`` (a select's input too), once it is drawn.

    ``client``: the page's client, when the element that asked may be gone (the card was redrawn).
    """
    (client or ui.context.client).run_javascript(f"window.rmaBench && window.rmaBench.focusIn({testid!r})")
