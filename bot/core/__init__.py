"""The platform-free core: commands, matching, search, rendering."""
