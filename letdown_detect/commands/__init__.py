"""One module per ``letdown`` subcommand: ``register(subparsers)`` and ``run(args)``."""
