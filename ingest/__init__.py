"""chargeline ingest."""
