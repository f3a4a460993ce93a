"""The GraphQL API: Strawberry types as thin views over the unified model."""
