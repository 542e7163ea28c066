"""Ranking: pure scoring and depth/breadth selection, and a thin loader of candidates."""
