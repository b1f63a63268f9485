"""简体中文 of the programming area (see ``rma/i18n.py``)."""

ZH: dict[str, str] = {
    "IC programming": "程序烧录",
    "Programming is not built yet.": "烧录功能尚未开发。",
}
