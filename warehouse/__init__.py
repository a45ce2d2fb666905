"""chargeline warehouse."""
