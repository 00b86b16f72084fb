"""Sources: fetching, parsing and normalising funding opportunities."""
