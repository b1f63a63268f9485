"""Domain errors: a stable code for programs and a message (an English template) for people.

The message template is also the key of its translation, so the web UI shows it in the
worker's language: ``_(error.template).format(**error.params)``.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, code: str, template: str, /, **params: object) -> None:
        self.code = code
        self.template = template
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        try:
            return self.template.format(**self.params)
        except (KeyError, IndexError):
            return self.template

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}
