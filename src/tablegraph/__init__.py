"""tablegraph: one GraphQL API over every restaurant-reservation backend."""

__version__ = "0.1.0"
