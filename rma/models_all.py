"""Imports every area's models so that ``Base.metadata`` knows every table."""

from rma.core import models as core_models  # noqa: F401
