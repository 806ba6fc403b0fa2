from tests.stores.conftest import redis_prefix  # noqa: F401 - the shared Redis fixture
