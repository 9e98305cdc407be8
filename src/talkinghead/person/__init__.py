"""A person model from their own footage: mouth appearance, and (with ``fit``) motion statistics."""
