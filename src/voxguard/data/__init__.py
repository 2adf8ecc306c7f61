"""voxguard.data."""
