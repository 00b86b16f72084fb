"""Storage: the database schema, migrations and the named operations the bot uses."""
