"""The intake station's keyboard: shortcuts, the ok/error signal, and the guard that keeps a scan
typed while a question is open as a scan instead of keys pressed in the question.

``rmaIntake.focusScan()`` puts the cursor back into the scan field; ``rmaIntake.sendScan(text)``
hands text to the scan field as if it had been scanned.
"""

from __future__ import annotations

from nicegui import ui

from rma.ui.banner import SIGNAL_HEAD

# The page's keyboard: shortcuts, the ok/error signal (flash and beep), and the guard that keeps
# a scan typed while a dialog is open as a scan instead of keys pressed in the dialog.
INTAKE_HEAD = SIGNAL_HEAD + """
<style>
  .rma-check { width: 1.4rem; height: 1.4rem; accent-color: #15803d; }
  kbd { font-family: ui-monospace, monospace; font-size: .8em; border: 1px solid #94a3b8;
        border-bottom-width: 2px; border-radius: 4px; padding: 0 .3em; background: #f8fafc; }
</style>
<script>
window.rmaIntake = (() => {
  const q = (s) => document.querySelector(s);
  const field = () => q('input[data-testid="intake-scan"]');
  const isText = (t) => !!t && !t.readOnly && (t.isContentEditable || t.tagName === 'TEXTAREA' ||
    (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'file', 'range', 'color'].includes(t.type)));
  let guard = '', guardAt = 0;
  const signal = (kind) => window.rmaSignal(kind);
  function focusScan() { const f = field(); if (f && !q('.q-dialog')) f.focus(); }
  function sendScan(text) {
    const f = field();
    if (!f) return;
    f.value = text;
    f.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
  }
  function newest() { return q('[data-accessories]'); }
  // A Quasar field puts its data-testid on its native input, or on its root: take either.
  function byTestid(id) {
    return q(`input[data-testid="${id}"], [data-testid="${id}"] input`) || {focus() {}};
  }
  window.addEventListener('keydown', (e) => {
    const f = field();
    if (!f || e.isComposing) return;
    const t = document.activeElement;
    if (q('.q-dialog')) {
      if (isText(t) || e.ctrlKey || e.altKey || e.metaKey) return;
      const now = Date.now();
      if (now - guardAt > 400) guard = '';
      if (e.key.length === 1) {
        guard += e.key; guardAt = now;
        e.preventDefault(); e.stopPropagation();
      } else if ((e.key === 'Enter' || e.key === 'Tab') && guard) {
        const text = guard; guard = '';
        e.preventDefault(); e.stopPropagation();
        sendScan(text);
      }
      return;
    }
    if (e.ctrlKey && !e.altKey && e.key === 'Enter') {
      e.preventDefault(); e.stopPropagation();
      const b = q('[data-testid="close-parcel"]');
      if (b) b.click();
      return;
    }
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      let done = true;
      if (e.code === 'KeyS') f.focus();
      else if (e.code === 'KeyR') byTestid('intake-reason').focus();
      else if (e.code === 'KeyT') byTestid('intake-reason-text').focus();
      else if (e.code === 'KeyA') { const b = newest() && newest().querySelector('[data-all-present]'); if (b) b.click(); }
      else if (/^Digit[1-9]$/.test(e.code)) {
        const boxes = newest() ? newest().querySelectorAll('input[type=checkbox]') : [];
        const box = boxes[Number(e.code.slice(5)) - 1];
        if (box) box.click();
      } else done = false;
      if (done) { e.preventDefault(); e.stopPropagation(); }
      return;
    }
    if (e.key === 'Escape' && t !== f && isText(t) && t.closest('[data-testid="scan-area"]')) {
      e.preventDefault(); f.focus(); return;
    }
    if (e.ctrlKey || e.altKey || e.metaKey || e.key.length !== 1) return;
    if (e.key === ' ' && t && (t.type === 'checkbox' || t.tagName === 'BUTTON')) {
      e.stopPropagation();  // Space ticks a box or presses a button, as usual
      return;
    }
    if (!isText(t)) f.focus();  // a scan that starts anywhere else lands in the scan field
  }, true);
  return {signal, focusScan, sendScan};
})();
</script>
"""

# A native checkbox sends the whole list ticked in its row, so each save is complete in itself.


def focus_scan() -> None:
    """Back to the scan field (unless a question is open)."""
    ui.run_javascript("rmaIntake.focusScan()")
