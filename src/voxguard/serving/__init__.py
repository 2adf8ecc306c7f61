"""voxguard.serving."""
