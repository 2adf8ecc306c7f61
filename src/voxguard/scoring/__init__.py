"""voxguard.scoring."""
