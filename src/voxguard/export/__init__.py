"""voxguard.export."""
