"""The floor's signals: the ok / warn / error flash and beep, the result banner under a scan
field, alert banners, and the short notices in a corner.

``SIGNAL_HEAD`` goes into a page's head once; ``rmaSignal(kind)`` then flashes the element marked
``data-signal-area`` green / amber / red and beeps (high and short: ok; two middle: look; two
low: error), so a clerk who looks at the unit, not the screen, still knows.
"""

from __future__ import annotations

from nicegui import ui

SIGNAL_HEAD = """
<style>
  @keyframes rma-flash-ok { 0%, 35% { background-color: #86efac; } 100% { background-color: #ffffff; } }
  @keyframes rma-flash-warn { 0%, 35% { background-color: #fcd34d; } 100% { background-color: #ffffff; } }
  @keyframes rma-flash-error { 0%, 50% { background-color: #f87171; } 100% { background-color: #ffffff; } }
  .rma-flash-ok { animation: rma-flash-ok 1.2s ease-out; }
  .rma-flash-warn { animation: rma-flash-warn 1.4s ease-out; }
  .rma-flash-error { animation: rma-flash-error 1.8s ease-out; }
</style>
<script>
window.rmaSignal = (() => {
  let audio = null;
  const TONES = {  // [frequency Hz, start s, length s]
    ok: [[1760, 0, 0.09]],
    warn: [[1175, 0, 0.08], [1175, 0.13, 0.08]],
    error: [[220, 0, 0.17], [220, 0.25, 0.17]],
  };
  function beep(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === 'suspended') audio.resume();
      const t0 = audio.currentTime + 0.01;
      for (const [freq, at, len] of TONES[kind] || TONES.error) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = kind === 'error' ? 'square' : 'sine';
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t0 + at);
        gain.gain.exponentialRampToValueAtTime(0.25, t0 + at + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + len);
        osc.connect(gain).connect(audio.destination);
        osc.start(t0 + at);
        osc.stop(t0 + at + len + 0.02);
      }
    } catch (err) { /* no sound device: the colour still says it */ }
  }
  return (kind) => {
    const area = document.querySelector('[data-signal-area]');
    if (area) {
      area.dataset.signal = kind;
      area.dataset.signals = String(Number(area.dataset.signals || 0) + 1);
      area.classList.remove('rma-flash-ok', 'rma-flash-warn', 'rma-flash-error');
      void area.offsetWidth;  // restart the animation
      area.classList.add('rma-flash-' + kind);
    }
    beep(kind);
  };
})();
</script>
"""

KINDS = {"ok": "bg-green-100 text-green-900", "warn": "bg-amber-100 text-amber-900",
         "error": "bg-red-100 text-red-900"}


def signal(kind: str) -> None:
    """Flash and beep: ``ok``, ``warn`` or ``error``."""
    ui.run_javascript(f"rmaSignal({kind!r})")


class ResultBanner:
    """One line under the scan field that says what the last scan did, in its colour."""

    def __init__(self, testid: str = "last-result") -> None:
        self.label = ui.label().classes("text-xl font-semibold rounded px-3 py-2").props(f"data-testid={testid}")
        self.label.set_visibility(False)

    def show(self, kind: str, text: str) -> None:
        self.label.set_text(text)
        self.label.classes(replace=f"text-xl font-semibold rounded px-3 py-2 {KINDS[kind]}")
        self.label.props(f"data-kind={kind}")
        self.label.set_visibility(True)
        signal(kind)


def alert_banner(title: str, text: str, *, testid: str, icon: str = "report") -> None:
    """A red band that cannot be missed: an interception, a unit that must not go on."""
    with ui.row().classes("w-full items-center gap-2 no-wrap bg-red-700 text-white rounded px-3 py-1").props(
        f"data-testid={testid}"
    ):
        ui.icon(icon, size="sm")
        ui.label(title).classes("font-bold whitespace-nowrap")
        ui.label(text).classes("text-base font-medium")


def notify_problem(text: str) -> None:
    ui.notify(text, type="negative", position="top", close_button=True, timeout=8000)


def notify_done(text: str) -> None:
    ui.notify(text, type="positive", position="top")


def notify_aside(text: str) -> None:
    """Bottom right: a scan area and the rows at the top stay in sight."""
    ui.notify(text, type="negative", position="bottom-right", close_button=True, timeout=6000, multi_line=True)
