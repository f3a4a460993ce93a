"""Libro (``kind = "libro"``): the adapter is ``provider.LibroProvider``; importing this
package registers it."""

from tablegraph.providers.libro.provider import LibroProvider, libro_oauth_routes

__all__ = ["LibroProvider", "libro_oauth_routes"]
