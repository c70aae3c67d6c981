"""tlsdoctor: diagnose, reproduce and survive HTTPS failures on machines you do not control."""

__version__ = "0.1.0"
