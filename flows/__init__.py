"""chargeline flows."""
