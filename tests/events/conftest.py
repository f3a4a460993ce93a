from ..graphql.conftest import sim, sims  # noqa: F401  (the Vardvik simulator fixtures)
