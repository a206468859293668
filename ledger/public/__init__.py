"""The public, read-only side built on everything else (DESIGN.md, floor 5): statistics now,
public pages, reports and data dumps later. Nothing below this package imports from it."""
