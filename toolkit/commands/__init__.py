"""Subcommands of `qst`, one module per stage; each exposes register(app)."""
