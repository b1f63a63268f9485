"""The test station's keyboard: the page's keys and styles (``TEST_HEAD``) and the key caps that show them.

The tester works from the scanner and the keyboard: Enter or Tab ends a scan, Alt+O / Alt+I
choose the test, Esc aborts; in a prompt Y / N / Enter, in the checklist Space, A and Enter.
"""

from __future__ import annotations

from nicegui import ui

# The page's keyboard. A letter shortcut in a dialog acts only on a lone key press: a scanner's
# burst of characters (a tag scanned by mistake) is dropped instead of answering yes or no.
TEST_HEAD = """
<style>
  .rma-check { width: 1.5rem; height: 1.5rem; accent-color: #15803d; }
  .rma-steps td, .rma-steps th { padding: 4px 8px; vertical-align: middle; }
  .rma-steps tr[data-verdict="running"], .rma-steps tr[data-verdict="waiting"] { background: #eff6ff; }
  .rma-steps tr[data-verdict="fail"] { background: #fef2f2; }
  .rma-steps tr[data-verdict="error"] { background: #fff7ed; }
</style>
<script>
window.rmaTest = (() => {
  const q = (s) => document.querySelector(s);
  const byTestid = (id) => q(`[data-testid="${id}"]`);
  const scanField = () => q('input[data-testid="test-scan"]');
  const isText = (t) => !!t && !t.readOnly && (t.isContentEditable || t.tagName === 'TEXTAREA' ||
    (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit'].includes(t.type)));
  const click = (id) => {
    const b = byTestid(id);
    if (!b || b.disabled || b.classList.contains('disabled') || b.offsetParent === null) return false;
    b.click();
    return true;
  };
  let lastKey = 0, held = null;
  function lone(act) {  // run act() unless another key follows within a scanner's pace
    const now = Date.now(), burst = now - lastKey < 60;
    lastKey = now;
    if (held) { clearTimeout(held); held = null; }
    if (!burst) held = setTimeout(() => { held = null; act(); }, 80);
  }
  const burstEnded = () => Date.now() - lastKey < 120;
  function focusScan() {
    let tries = 0;
    const go = () => {  // once drawn, and once a closing dialog has gone
      const f = scanField();
      if (f && !q('.q-dialog')) f.focus(); else if (tries++ < 60) setTimeout(go, 25);
    };
    go();
  }
  function focusIn(testid) {
    let tries = 0;
    const go = () => {
      const el = q(`[data-testid="${testid}"]`);
      const target = el && (el.matches('input, button') ? el : el.querySelector('input, button'));
      if (target) target.focus(); else if (tries++ < 60) setTimeout(go, 25);
    };
    go();
  }
  function kind(index) {
    const buttons = q('[data-testid="test-kind"]');
    const b = buttons && buttons.querySelectorAll('button')[index];
    if (b) b.click();
  }
  window.addEventListener('keydown', (e) => {
    if (e.isComposing || e.ctrlKey || e.metaKey) return;
    const t = document.activeElement;
    const stop = () => { e.preventDefault(); e.stopPropagation(); };
    if (e.key === 'Escape') {
      if (click('prompt-abort') || click('checklist-abort') || click('run-abort')) stop();
      return;
    }
    const yesNo = q('[data-testid="prompt-dialog"][data-answer="yes_no"]');
    if (yesNo) {
      if (e.altKey) return;
      if (e.key === 'Enter') {
        if (t && t.tagName === 'BUTTON' && yesNo.contains(t) && !burstEnded()) return;  // the focused button
        stop();
        if (!burstEnded()) click('prompt-yes');
      } else if (e.key.length === 1 && e.key !== ' ') {
        stop();
        const k = e.key.toLowerCase();
        lone(() => { if (k === 'y') click('prompt-yes'); else if (k === 'n') click('prompt-no'); });
      }
      return;
    }
    const list = q('[data-testid="checklist-dialog"]');
    if (list) {
      if (e.altKey) return;
      if (e.key === 'Enter') {
        if (t && t.tagName === 'BUTTON' && list.contains(t) && !burstEnded()) return;
        stop();
        if (!burstEnded()) click('checklist-finish');
      } else if (e.key.length === 1 && e.key !== ' ') {
        stop();
        const k = e.key.toLowerCase();
        lone(() => { if (k === 'a') click('checklist-all'); });
      }
      return;
    }
    const promptScan = q('input[data-testid="prompt-scan"]');
    if (promptScan) {
      if (e.key.length === 1 && !isText(t)) promptScan.focus();
      return;
    }
    if (q('.q-dialog')) return;
    if (e.altKey) {
      if (e.code === 'KeyO') { stop(); kind(0); focusScan(); }
      else if (e.code === 'KeyI') { stop(); kind(1); focusScan(); }
      else if (e.code === 'KeyS') { stop(); focusScan(); }
      return;
    }
    if (e.key.length !== 1) return;
    if (e.key === ' ' && t && (t.tagName === 'BUTTON' || t.type === 'checkbox')) return;
    if (!isText(t)) { const f = scanField(); if (f) f.focus(); }  // a scan that starts anywhere lands here
  }, true);
  return {focusScan, focusIn};
})();
</script>
"""


def key_hint(keys: tuple[str, ...], what: str) -> None:
    """A keyboard hint: the keys as key caps, then what they do."""
    with ui.row().classes("items-center gap-1 no-wrap"):
        for n, key in enumerate(keys):
            if n:
                ui.label("/")
            ui.label(key).classes("font-mono text-xs text-slate-900 bg-slate-50 border border-slate-400 border-b-2 "
                                  "rounded px-1")
        ui.label(what)
