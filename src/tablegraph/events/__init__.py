"""Live booking events: what changed, where the gateway learnt it, and who hears it.

- ``model``: ``BookingEvent`` and the pure functions that derive one from two booking states
  (``diff``), with an id that is the same however the change was learnt;
- ``hub``: ``EventBus`` (the interface the store's pub/sub and event log will back) and
  ``MemoryEventHub``, one stream per restaurant with bounded per-subscriber queues and a
  retention window for replay;
- ``feeds``: the three ways events come in — the booking service's writes, verified
  webhooks, and ``polling`` for providers without webhooks.
"""
