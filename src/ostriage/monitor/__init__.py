"""Monitoring: the diagnosis as Prometheus metrics, and ``ostriage watch`` (crash loops as they start).

``metrics`` turns a diagnosis into samples, ``exposition`` into the Prometheus text format, ``alerts``
into Alertmanager v2 alerts; ``events``/``detector`` recognise a crash loop in the journal and the
kernel log, ``followers`` read those on a live host and ``watch`` ties them together.
"""
