"""Renderers: they take what observers and judges produced and only print it."""
