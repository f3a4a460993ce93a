"""Every root query and mutation field (and every field with arguments below a root field),
derived from the live schema, fuzzed with generated variables over HTTP."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ_SETTINGS
from .harness import FuzzEnv
from .operations import Operation, operations
from .properties import Checker, check_identity
from .strategies import variables

OPERATIONS = operations()


def test_every_root_field_is_fuzzed() -> None:
    from .operations import graphql_schema

    schema = graphql_schema()
    assert schema.query_type is not None and schema.mutation_type is not None
    fields = {f"query.{n}" for n in schema.query_type.fields}
    fields |= {f"mutation.{n}" for n in schema.mutation_type.fields}
    assert fields <= {op.name for op in OPERATIONS}


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_fuzz_operation(fuzz_env: FuzzEnv, checker: Checker, operation: Operation) -> None:
    @FUZZ_SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        values = data.draw(
            variables(operation.arguments, fuzz_env.known, operation.field), label="variables"
        )
        payload = {"query": operation.document, "variables": values, "operationName": "Fuzz"}
        fuzz_env.logs.take()
        reply = fuzz_env.post(payload)
        body = checker.check(json.dumps(payload), reply, fuzz_env.logs.take())
        check_identity(operation.field, values, body)

    run()
