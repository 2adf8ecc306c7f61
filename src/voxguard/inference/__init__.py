"""voxguard.inference."""
