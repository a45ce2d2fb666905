"""One module per ``chargeline`` subcommand; each defines ``register(subparsers)``."""
