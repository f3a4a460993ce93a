"""Hot fields resolved by graphql-core directly, past Strawberry's resolver wrapper.

``Booking.guest`` and ``Booking.restaurant`` run once per booking of every list. Strawberry
wraps each resolver call in argument conversion, a field-extension chain and several call
layers, which cost more than these resolvers themselves (issue #16's profile). They take no
arguments and have no field extensions, so ``direct(schema)`` gives graphql-core a function
that builds Strawberry's ``Info`` and calls the method: the same call, fewer layers. Run it
before ``permissions.protect``, which wraps whatever resolver the field has by then.

Each also has a ``<field>_now(context)`` method answering at once when the request already
holds the value (a listed booking's guest and restaurant nearly always), or ``LATER``. The
function given to graphql-core carries it as ``now``: ``executor.PlannedExecutor`` calls it
without building a resolver ``Info`` and completes the object itself; on ``LATER`` it
executes the field as graphql-core would. A guard wrapped around the resolver
(``permissions.protect``) hides ``now``, so a gated field is always executed.
"""

from __future__ import annotations

from typing import Any, Final

from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry.schema.schema_converter import GraphQLCoreConverter

#: (type, field) resolved directly.
HOT = (("Booking", "guest"), ("Booking", "restaurant"))

#: A ``<field>_now`` method's answer when the value needs the full resolver.
LATER: Final = object()


def direct(schema: Any) -> None:
    """Point each ``HOT`` field of ``schema`` (a Strawberry schema) at its method."""
    gql = schema._schema
    info_class = schema.config.info_class
    for type_name, field_name in HOT:
        gtype = gql.type_map[type_name]
        assert isinstance(gtype, GraphQLObjectType)
        gfield = gtype.fields[field_name]
        field = (gfield.extensions or {})[GraphQLCoreConverter.DEFINITION_BACKREF]
        resolver = field.base_resolver
        if resolver is None or field.arguments or field.extensions:
            raise RuntimeError(f"{type_name}.{field_name} cannot be resolved directly")
        now = getattr(field.origin, f"{field.python_name}_now", None)
        gfield.resolve = _calling(resolver.wrapped_func, info_class, field, now)


def _calling(method: Any, info_class: Any, field: Any, now: Any) -> Any:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return method(source, info_class(_raw_info=info, _field=field))

    resolve.now = now  # type: ignore[attr-defined]
    return resolve
