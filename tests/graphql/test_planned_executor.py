"""The planned executor answers exactly what graphql-core's own answers, errors included, and
executes fewer fields doing it."""

from __future__ import annotations

import enum
from typing import Any, NewType

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.schema.config import StrawberryConfig

from tablegraph.auth.scopes import Scope
from tablegraph.graphql.executor import PlannedExecutor
from tablegraph.graphql.permissions import Rule, _guard


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Inner:
    id: strawberry.ID
    label: str | None


@strawberry.interface
class Thing:
    id: strawberry.ID


@strawberry.type
class Item(Thing):  # an interface's type: graphql-core checks each value with is_type_of
    size: int
    name: str | None
    colour: Colour
    tags: list[str]
    inner: Inner | None
    secret: str | None
    broken: str  # non-null, but some items hold None

    @strawberry.field
    def computed(self) -> str:
        return f"computed-{self.id}"

    @strawberry.field
    async def later(self) -> int:
        return self.size * 2


def items() -> list[Item]:
    out = []
    for i in range(5):
        out.append(
            Item(
                id=strawberry.ID(f"i{i}"),
                size=2**40 if i == 3 else i,  # 2**40 is no Int: a coercion error
                name=None if i % 2 else f"n{i}",
                colour=Colour.RED if i % 2 else Colour.BLUE,
                tags=[f"t{i}"],
                inner=Inner(id=strawberry.ID(f"in{i}"), label=None) if i != 1 else None,
                secret=f"s{i}",
                broken=None if i == 4 else "ok",  # type: ignore[arg-type]
            )
        )
    return out


# A scalar whose output coercion gives null for "none": graphql-core reports it.
Odd = NewType("Odd", str)
SCALARS: dict[object, Any] = {
    Odd: strawberry.scalar(
        name="Odd", serialize=lambda v: None if v == "none" else v, parse_value=str
    )
}


@strawberry.type
class Shelf:
    """Lists read from attributes: the planned executor completes them itself."""

    items: list[Item]  # non-null items: one failing item nulls the whole list
    loose: list[Item | None] | None  # nullable items: a failing item is null alone
    sizes: list[int]  # one is no Int
    names: list[str | None]
    colours: list[Colour]
    odd: list[Item] | None  # holds something that is no Item
    odds: list[Odd] | None  # one coerces to null
    empty: list[Item]


def shelf() -> Shelf:
    held = items()
    return Shelf(
        items=held,
        loose=[held[0], None, *held[1:]],
        sizes=[item.size for item in held],
        names=[item.name for item in held],
        colours=[item.colour for item in held],
        odd=[held[0], "no item"],  # type: ignore[list-item]
        odds=["a", "none"],  # type: ignore[list-item]
        empty=[],
    )


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return items()

    @strawberry.field
    def shelf(self) -> Shelf:
        return shelf()

    @strawberry.field
    async def strict(self) -> list[Item] | None:
        return items()


class Counting(PlannedExecutor):
    executed = 0

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        Counting.executed += 1
        return super().execute_field(*args, **kwargs)


class Plain(strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext):
    executed = 0

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        Plain.executed += 1
        return super().execute_field(*args, **kwargs)


def schema(executor: type) -> strawberry.Schema:
    built = strawberry.Schema(
        query=Query,
        execution_context_class=executor,
        config=StrawberryConfig(scalar_map=SCALARS),
    )
    item = built._schema.type_map["Item"]
    assert isinstance(item, GraphQLObjectType)
    # Guarded as permissions.protect guards a field: a plain field no more.
    item.fields["secret"].resolve = _guard(
        item.fields["secret"].resolve, Rule(Scope.GUESTS_READ), "Item", "secret"
    )
    return built


class Identity:
    def has(self, _scope: Any) -> bool:
        return False


class Ctx:
    def __init__(self) -> None:
        self.identity = Identity()
        self.refused: set[str] = set()
        self.reported: list[Any] = []

    def report(self, error: Any, info: Any) -> None:
        self.reported.append((error.message, info.path.as_list()))


QUERIES = [
    "{ items { id size name colour tags computed later __typename inner { id label } } }",
    "{ items { a: id b: id ...F ... on Item { colour } } } fragment F on Item { name id }",
    "query($s: Boolean!) { items { id name @skip(if: $s) size @include(if: $s) } }",
    "{ items { id secret } }",
    "{ strict { id broken } }",  # a null in a non-null field nulls the item, then the list
    "{ items { id broken } }",  # ... and here the whole data, the list being non-null
    # lists read from an attribute, completed by the plan
    "{ shelf { items { id size name colour tags later inner { id label } } } }",
    "{ shelf { loose { id broken later } names colours } }",  # item 4 is null; the rest stand
    "{ shelf { items { id broken } } }",  # a non-null item fails: the shelf is null
    "{ shelf { loose { id size } items { id } } }",  # item 3's size nulls item 3 only
    "{ shelf { names sizes } }",  # 2**40 is no Int: the field fails, then the shelf
    "{ shelf { colours odd { id } } }",  # no Item in the list: graphql-core reports it
    "{ shelf { loose { id later secret } } }",  # a guarded field's refusal in each item
    "{ strict { id later } }",  # a resolver's list: completed by the plan as well
    "{ shelf { odds names } }",  # a scalar coerced to null: the list is null, reported
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("skip", [True, False])
async def test_the_same_answers_and_errors_as_graphql_core(query: str, skip: bool) -> None:
    answers = []
    reports = []
    for executor in (Plain, Counting):
        ctx = Ctx()
        result = await schema(executor).execute(
            query, variable_values={"s": skip}, context_value=ctx
        )
        errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
        answers.append((result.data, errors))
        reports.append(ctx.reported)
    assert answers[0] == answers[1]
    assert reports[0] == reports[1]
    assert list(_keys(answers[0][0])) == list(_keys(answers[1][0]))  # the same order


def _keys(data: Any) -> Any:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _keys(value)
    elif isinstance(data, list):
        for value in data:
            yield from _keys(value)


async def test_plain_scalars_are_not_executed_field_by_field() -> None:
    query = "{ items { id name colour computed } }"
    Plain.executed = Counting.executed = 0
    await schema(Plain).execute(query, context_value=Ctx())
    await schema(Counting).execute(query, context_value=Ctx())
    # graphql-core: the root field and 4 fields of 5 items; planned: the root field and the
    # one field with a resolver of each item.
    assert Plain.executed == 1 + 5 * 4
    assert Counting.executed == 1 + 5


class CountingLists(PlannedExecutor):
    lists = 0  # lists graphql-core completed itself

    def complete_iterable_value(self, *args: Any, **kwargs: Any) -> Any:
        CountingLists.lists += 1
        return super().complete_iterable_value(*args, **kwargs)


class PlainLists(Plain):
    lists = 0

    def complete_iterable_value(self, *args: Any, **kwargs: Any) -> Any:
        PlainLists.lists += 1
        return super().complete_iterable_value(*args, **kwargs)


async def test_lists_are_completed_by_the_plan_unless_an_item_is_unexpected() -> None:
    query = "{ items { id tags } shelf { items { id tags computed } loose { id } names } }"
    answers = []
    for executor in (PlainLists, CountingLists):
        executor.lists = 0
        result = await schema(executor).execute(query, context_value=Ctx())
        assert result.errors is None
        answers.append(result.data)
    assert answers[0] == answers[1]
    # graphql-core: a resolver's list and each of its items' tags; the shelf's items, their
    # tags, loose, names. The plan: none of them.
    assert (PlainLists.lists, CountingLists.lists) == (1 + 5 + 1 + 5 + 1 + 1, 0)
    # something that is no Item, an Int out of range: graphql-core completes (and reports)
    CountingLists.lists = 0
    result = await schema(CountingLists).execute(
        "{ shelf { odd { id } sizes } }", context_value=Ctx()
    )
    assert CountingLists.lists == 2
    assert result.data is None and len(result.errors or []) == 2


class CountingPlans(PlannedExecutor):
    items = 0

    def _planned(self, return_type: Any, *args: Any) -> Any:
        if return_type.name == "Item":
            CountingPlans.items += 1
        return super()._planned(return_type, *args)


@pytest.mark.parametrize(("field", "plans"), [("empty", 0), ("items", 1)])
async def test_an_empty_list_plans_nothing(field: str, plans: int) -> None:
    CountingPlans.items = 0
    result = await schema(CountingPlans).execute(
        f"{{ shelf {{ {field} {{ id name }} }} }}", context_value=Ctx()
    )
    assert result.errors is None and result.data is not None
    assert (result.data["shelf"][field] == []) is (field == "empty")
    assert CountingPlans.items == plans


# ---- objects answered at once (``now``), and completed once per request ------------------


@strawberry.type
class Place:
    id: strawberry.ID
    name: str  # non-null; place "b" holds None


PLACES = {
    "a": Place(id=strawberry.ID("a"), name="Alpha"),
    "b": Place(id=strawberry.ID("b"), name=None),  # type: ignore[arg-type]
}


@strawberry.type
class Visit:
    id: strawberry.ID
    key: strawberry.Private[str]

    @strawberry.field
    def place(self) -> Place | None:
        return PLACES[self.key]


@strawberry.type
class VisitQuery:
    @strawberry.field
    def visits(self) -> list[Visit]:
        keys = ["a", "b", "a", "a", "b", "a"]
        return [Visit(id=strawberry.ID(f"v{i}"), key=k) for i, k in enumerate(keys)]


class CountingRuns(PlannedExecutor):
    places = 0

    def _run(self, plan: Any, parent_type: Any, *args: Any) -> Any:
        if parent_type.name == "Place":
            CountingRuns.places += 1
        return super()._run(plan, parent_type, *args)


def visit_schema(executor: type) -> strawberry.Schema:
    built = strawberry.Schema(query=VisitQuery, execution_context_class=executor)
    visit = built._schema.type_map["Visit"]
    assert isinstance(visit, GraphQLObjectType)
    resolve = visit.fields["place"].resolve

    def place(source: Any, info: Any) -> Any:
        return resolve(source, info)  # type: ignore[misc]

    place.now = lambda source, _context: PLACES[source.key]  # type: ignore[attr-defined]
    visit.fields["place"].resolve = place
    return built


async def test_an_object_met_again_is_completed_once_unless_a_field_failed() -> None:
    query = "{ visits { id place { id name __typename } } }"
    answers = []
    CountingRuns.places = 0
    for executor in (Plain, CountingRuns):
        result = await visit_schema(executor).execute(query, context_value=Ctx())
        errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
        answers.append((result.data, errors))
    assert answers[0] == answers[1]
    data, errors = answers[1]
    assert data is not None
    assert [v["place"] for v in data["visits"]][:2] == [
        {"id": "a", "name": "Alpha", "__typename": "Place"},
        None,  # its non-null name was null: the error nulls the place, at this path
    ]
    assert [path for _, path in errors] == [
        ("visits", 1, "place", "name"),
        ("visits", 4, "place", "name"),
    ]
    # "a" completed once for its four visits; "b" each time, so that each reports its error
    assert CountingRuns.places == 1 + 2
    # the answers are copies: changing one changes no other
    data["visits"][0]["place"]["name"] = "changed"
    assert data["visits"][2]["place"]["name"] == "Alpha"
