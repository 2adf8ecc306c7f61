"""voxguard.losses."""
