"""What the tests share beyond conftest.py's fixtures: importable as ``support`` (pytest puts tests/ on the path)."""
