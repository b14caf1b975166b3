"""Models added and removed at run time (``/admin/v1/models``), the same on every replica.

``service`` starts a model from a config entry, records it in the store and keeps this
replica's runtime models equal to the stored set; ``router`` is the admin API over it.
"""
