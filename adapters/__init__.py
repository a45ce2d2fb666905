"""chargeline adapters."""
