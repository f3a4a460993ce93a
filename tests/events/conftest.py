from tests.redis_server import redis_url  # noqa: F401  (a real redis-server, for the workers)

from ..graphql.conftest import sim, sims  # noqa: F401  (the Vardvik simulator fixtures)
