"""Hot fields resolved by graphql-core directly, past Strawberry's resolver wrapper.

``Booking.guest`` and ``Booking.restaurant`` run once per booking of every list. Strawberry
wraps each resolver call in argument conversion, a field-extension chain and several call
layers, which cost more than these resolvers themselves (issue #16's profile). They take no
arguments and have no field extensions, so ``direct(schema)`` gives graphql-core a function
that builds Strawberry's ``Info`` and calls the method: the same call, fewer layers. Run it
before ``permissions.protect``, which wraps whatever resolver the field has by then.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry.schema.schema_converter import GraphQLCoreConverter

#: (type, field) resolved directly.
HOT = (("Booking", "guest"), ("Booking", "restaurant"))


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
        gfield.resolve = _calling(resolver.wrapped_func, info_class, field)


def _calling(method: Any, info_class: Any, field: Any) -> Any:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return method(source, info_class(_raw_info=info, _field=field))

    return resolve
