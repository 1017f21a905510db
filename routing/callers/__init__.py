"""Who is calling: caller numbers, resident IDs, the customer directory and its CSV import."""
