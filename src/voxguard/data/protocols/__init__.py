"""voxguard.data.protocols."""
