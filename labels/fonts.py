"""Finding a font that draws Chinese, and refusing to draw with one that would print boxes.

A thermal label with 口口口 where the model name should be is worse than no label: every
font is checked for the characters it is asked to draw, and a missing glyph is an error.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from PIL import ImageFont

from labels.errors import LabelError

DEBIAN_PACKAGE = "fonts-noto-cjk"
WANTED_FONT = "Noto Sans CJK SC (NotoSansCJK-Regular.ttc)"

#: Where Debian (and a few other systems) put a font with Simplified Chinese glyphs.
CJK_FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # Debian/Ubuntu fonts-noto-cjk
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),  # Arch, Fedora
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # fonts-wqy-zenhei
)

_CHINESE_SAMPLE = "拦截返修机"
_SURELY_ABSENT = "\U000f0000"  # a private-use code point: every font draws its .notdef for it
_INSTALL_HINT = (
    f"install the Debian package {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE}) "
    "or give a font file with Chinese glyphs in the template's [label] font or the font argument"
)


@dataclass(frozen=True)
class FontFace:
    """One face of a font file (a .ttc holds several: Noto Sans CJK SC is index 2)."""

    path: Path
    index: int = 0

    def __str__(self) -> str:
        return f"{self.path}" if self.index == 0 else f"{self.path} (face {self.index})"


@dataclass(frozen=True)
class FontSet:
    """The regular face and, when the family has one, its bold sibling."""

    regular: FontFace
    bold: FontFace | None = None


def font_face(path: str | Path, index: int | None = None) -> FontFace:
    """The face of ``path`` to use: ``index`` if given, else the Simplified Chinese face of a collection.

    Raises ``LabelError`` (``font_missing``) naming the file when it does not exist or is not a font.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise LabelError(f"font {path} not found: {_INSTALL_HINT}", code="font_missing")
    if index is None:
        index = _simplified_chinese_face(path)
    try:
        load_font(FontFace(path, index), 12)
    except OSError as exc:
        raise LabelError(f"font {path} (face {index}) cannot be loaded: {exc}", code="font_missing") from exc
    return FontFace(path, index)


def find_cjk_font(
    candidates: Iterable[str | Path] = CJK_FONT_CANDIDATES, *, use_fontconfig: bool = True
) -> FontFace:
    """A font on this machine that draws Simplified Chinese.

    Tries ``candidates`` in order, then fontconfig (``fc-match :lang=zh-cn``) when it is
    installed; a font is accepted only if it really has glyphs for Chinese text. Raises
    ``LabelError`` (``font_missing``) naming the font wanted and the Debian package to install.
    """
    tried: list[str] = []
    for candidate in candidates:
        path = Path(candidate)
        tried.append(str(path))
        if path.is_file():
            face = FontFace(path, _simplified_chinese_face(path))
            if not missing_glyphs(face, _CHINESE_SAMPLE):
                return face
    if use_fontconfig:
        face = _fontconfig_cjk_face()
        tried.append("fontconfig (fc-match ':lang=zh-cn')")
        if face is not None and not missing_glyphs(face, _CHINESE_SAMPLE):
            return face
    raise LabelError(
        f"no font for Chinese text found (wanted {WANTED_FONT}; tried {', '.join(tried)}): {_INSTALL_HINT}",
        code="font_missing",
    )


@lru_cache(maxsize=8)
def default_font_set() -> FontSet:
    """The machine's Chinese font and its bold sibling, looked up once per process."""
    return font_set(find_cjk_font())


def font_set(face: FontFace) -> FontSet:
    """``face`` with its bold sibling when one sits next to it (``…-Regular`` → ``…-Bold``)."""
    name = face.path.name
    if "Regular" in name:
        bold = face.path.with_name(name.replace("Regular", "Bold"))
        if bold.is_file():
            return FontSet(face, FontFace(bold, face.index))
    return FontSet(face, None)


def missing_glyphs(face: FontFace, text: str) -> list[str]:
    """The characters of ``text`` that ``face`` would draw as its 'missing glyph' box."""
    stamp = file_stamp(face.path)
    return [ch for ch in dict.fromkeys(text) if not _is_invisible(ch) and _glyph_missing_in(face, ch, stamp)]


def require_glyphs(face: FontFace, text: str) -> None:
    """Raise ``LabelError`` when ``face`` cannot draw every character of ``text``."""
    missing = missing_glyphs(face, text)
    if missing:
        shown = "".join(missing[:10])
        raise LabelError(
            f"font {face} has no glyph for {shown!r} (in {text!r}); it would print boxes: {_INSTALL_HINT}",
            code="font_missing",
        )


def load_font(face: FontFace, size_px: int) -> ImageFont.FreeTypeFont:
    """The face at ``size_px`` pixels per em: loaded once per process (a CJK collection is
    20 MB), and again when the file changes (a package upgrade replaced it)."""
    return _load_font(face, size_px, file_stamp(face.path))


@lru_cache(maxsize=256)
def _load_font(face: FontFace, size_px: int, _stamp: tuple[int, int, int]) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(face.path), size_px, index=face.index)


def file_stamp(path: Path) -> tuple[int, int, int]:
    """What changes when a font file is replaced (inode, size, mtime); looked at most once a second."""
    now = time.monotonic()
    seen = _STAMPS.get(path)
    if seen is not None and now - seen[0] < _STAMP_TTL_S:
        return seen[1]
    try:
        st = path.stat()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = (0, 0, 0)  # ImageFont.truetype says what is wrong with it
    _STAMPS[path] = (now, stamp)
    return stamp


_STAMPS: dict[Path, tuple[float, tuple[int, int, int]]] = {}
_STAMP_TTL_S = 1.0


def _is_invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Zs", "Zl", "Zp"}


@lru_cache(maxsize=4096)
def _glyph_missing_in(face: FontFace, ch: str, stamp: tuple[int, int, int]) -> bool:
    font = _load_font(face, 32, stamp)
    mask = font.getmask(ch)
    if mask.getbbox() is None:
        return True  # a visible character that draws nothing is as bad as a box
    notdef = font.getmask(_SURELY_ABSENT)
    return mask.size == notdef.size and bytes(mask) == bytes(notdef)


def _simplified_chinese_face(path: Path) -> int:
    if path.suffix.lower() not in {".ttc", ".otc"}:
        return 0
    fallback = 0
    for index in range(32):
        try:
            family, _style = load_font(FontFace(path, index), 12).getname()
        except OSError:
            break
        family = family or ""
        if family.endswith(" SC") and "Mono" not in family:
            return index
        if family.endswith(" SC"):
            fallback = index
    return fallback


def _fontconfig_cjk_face() -> FontFace | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        out = subprocess.run(
            [fc_match, "-f", "%{file}\n%{index}\n", ":lang=zh-cn"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout.split("\n")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if len(out) < 2 or not out[0] or not Path(out[0]).is_file():
        return None
    try:
        index = int(out[1] or 0)
    except ValueError:
        index = 0
    return FontFace(Path(out[0]), index)
