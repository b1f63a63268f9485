"""Imports every area's models so that ``Base.metadata`` knows every table."""

from rma.bench import models as bench_models  # noqa: F401
from rma.core import models as core_models  # noqa: F401
from rma.intake import models as intake_models  # noqa: F401
from rma.inventory import models as inventory_models  # noqa: F401
from rma.programming import job_models as programming_job_models  # noqa: F401
from rma.programming import models as programming_models  # noqa: F401
from rma.test_station import models as test_station_models  # noqa: F401
