"""Named storage operations, one repository per area, all bound to one session."""
