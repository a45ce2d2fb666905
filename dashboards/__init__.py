"""chargeline dashboards."""
