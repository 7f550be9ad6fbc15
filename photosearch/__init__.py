"""photosearch: find similar photos in your own library, on your own machine."""

__version__ = "0.1.0"
