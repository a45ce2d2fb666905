"""Fleet simulator with labelled faults, and the scorer."""
