"""The ``bnnkit`` command line: one module per subcommand, each thin."""

__all__: list[str] = []
