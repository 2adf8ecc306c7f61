"""sasv models; each module registers its variants."""
