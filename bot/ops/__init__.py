"""Running the bot in production: ``health`` (``/healthz``, ``/metrics``), ``metrics``
(Prometheus), ``logs`` (text or JSON, secrets redacted) and ``retention`` (outbox pruning).

These observe the runtime; the runtime never imports them (it is handed a poll observer)."""
