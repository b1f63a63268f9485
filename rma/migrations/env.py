"""Alembic environment: runs on the connection that ``rma.migrate`` hands over."""

from alembic import context

from rma.core.models import Base
import rma.models_all  # noqa: F401  (every area's tables on Base.metadata)

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; use `rma db upgrade`")
run_migrations_online()
