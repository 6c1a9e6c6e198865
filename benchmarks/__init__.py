"""Scripts that print figures, run by hand (benchmarks/README.md): speed, memory, accuracy."""
