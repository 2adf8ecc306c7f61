"""voxguard.profiling."""
